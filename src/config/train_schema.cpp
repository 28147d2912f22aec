// Every key of the training configuration, declared once: type (from the TrainConfig field),
// default, allowed values and help. Order here is the order of dumps and of the docs table.
#include "config/train_config.h"

namespace adallava::config {

namespace {

#define KEY(path) ADALLAVA_CONFIG_FIELD(TrainConfig, path)

void add_model_keys(Schema& s) {
  s.add(key(KEY(model.init))
            .path()
            .help("Checkpoint directory to start from: a LLaVA/AdaLLaVA checkpoint, or a bare "
                  "LLaMA/Vicuna "
                  "LLM (the projector is then new). null = build the model from model.arch."));
  s.add(key(KEY(model.projector_init))
            .path()
            .help("Checkpoint whose projector weights replace the initial ones (LLaVA's "
                  "--pretrain_mm_mlp_adapter: the stage-1 output)."));
  s.add(key(KEY(model.vision_tower))
            .path()
            .help("CLIP vision tower directory. null = the one named by model.init, or a new tower "
                  "from "
                  "model.arch."));
  s.add(key(KEY(model.tokenizer))
            .path()
            .help("SentencePiece tokenizer.model. null = the one in model.init; required when "
                  "training from "
                  "scratch."));
  s.add(key(KEY(model.objective))
            .one_of({"llava", "scene_patches"})
            .def("llava")
            .help("llava: LLaVA's loss on conversations (stages 1 and 2, AdaLLaVA). "
                  "scene_patches: pretrain a vision tower from scratch on the synthetic suite's "
                  "per-patch labels (data.train = its scenes.jsonl); the run writes an HF "
                  "CLIPVisionModel folder for model.vision_tower."));
  s.add(key(KEY(model.projector_type))
            .one_of({"linear", "mlp2x_gelu"})
            .def("mlp2x_gelu")
            .help("Vision-language projector (LLaVA --mm_projector_type)."));
  s.add(key(KEY(model.vision_select_layer))
            .at_least(-64)
            .at_most(64)
            .def(-2)
            .help("Vision hidden state fed to the projector; negative counts from the end (-2 = "
                  "penultimate "
                  "layer)."));
  s.add(key(KEY(model.vision_select_feature))
            .one_of({"patch", "cls_patch"})
            .def("patch")
            .help("patch drops the CLS token; cls_patch keeps it."));
  s.add(
      key(KEY(model.image_aspect_ratio))
          .one_of({"square", "pad"})
          .def("square")
          .help(
              "square: resize and centre-crop; pad: pad to a square with the mean colour first."));
  s.add(key(KEY(model.conv_template))
            .one_of({"plain", "vicuna_v1", "v1", "llava_v1"})
            .def("vicuna_v1")
            .help("Conversation template (LLaVA --version): plain for stage 1, vicuna_v1 after."));

  s.add(key(KEY(model.arch.vision_image_size))
            .at_least(8)
            .at_most(4096)
            .help("From scratch: input image side in pixels."));
  s.add(key(KEY(model.arch.vision_patch_size))
            .at_least(1)
            .at_most(512)
            .help("From scratch: patch side; must divide vision_image_size."));
  s.add(key(KEY(model.arch.vision_hidden_size))
            .at_least(1)
            .at_most(65536)
            .help("From scratch: vision width."));
  s.add(key(KEY(model.arch.vision_layers))
            .at_least(1)
            .at_most(256)
            .help("From scratch: vision encoder layers."));
  s.add(key(KEY(model.arch.vision_heads))
            .at_least(1)
            .at_most(1024)
            .help("From scratch: vision attention heads; must divide vision_hidden_size."));
  s.add(key(KEY(model.arch.vision_mlp_dim))
            .at_least(1)
            .at_most(262144)
            .help("From scratch: vision MLP width."));
  s.add(key(KEY(model.arch.vision_layer_norm_eps))
            .above(0)
            .at_most(1)
            .def(1e-5)
            .help("From scratch: vision LayerNorm epsilon."));
  s.add(key(KEY(model.arch.llm_hidden_size))
            .at_least(1)
            .at_most(65536)
            .help("From scratch: LLM width."));
  s.add(key(KEY(model.arch.llm_layers))
            .at_least(1)
            .at_most(1024)
            .help("From scratch: LLM decoder layers."));
  s.add(key(KEY(model.arch.llm_heads))
            .at_least(1)
            .at_most(1024)
            .help("From scratch: LLM attention heads; must divide llm_hidden_size."));
  s.add(key(KEY(model.arch.llm_kv_heads))
            .at_least(1)
            .at_most(1024)
            .help("From scratch: LLM key/value heads (grouped-query attention when < llm_heads)."));
  s.add(key(KEY(model.arch.llm_mlp_dim))
            .at_least(1)
            .at_most(262144)
            .help("From scratch: LLM SwiGLU intermediate size."));
  s.add(
      key(KEY(model.arch.vocab_size))
          .at_least(1)
          .at_most(1 << 22)
          .help(
              "From scratch: vocabulary size. null = the tokenizer's piece count (always null with "
              "model.init)."));
  s.add(key(KEY(model.arch.max_position_embeddings))
            .at_least(1)
            .at_most(1 << 20)
            .help("From scratch: longest sequence the LLM is built for (>= data.max_length)."));
  s.add(key(KEY(model.arch.rope_theta)).above(0).def(10000.0).help("From scratch: RoPE base."));
  s.add(key(KEY(model.arch.rms_norm_eps))
            .above(0)
            .at_most(1)
            .def(1e-5)
            .help("From scratch: LLM RMSNorm epsilon."));
  s.add(key(KEY(model.arch.init_std))
            .above(0)
            .at_most(1)
            .def(0.02)
            .help("From scratch: standard deviation of the normal init of linear and embedding "
                  "weights."));
}

void add_trainable_keys(Schema& s) {
  s.add(key(KEY(trainable.vision_tower)).def(false).help("Train the CLIP vision tower."));
  s.add(key(KEY(trainable.projector)).def(true).help("Train the projector."));
  s.add(key(KEY(trainable.llm))
            .def(true)
            .help("Train the LLM (all layers, embeddings and lm_head)."));
  s.add(key(KEY(trainable.latency_encoder))
            .def(true)
            .help("AdaLLaVA: train the latency encoder (ignored when adaptive.variant is none)."));
  s.add(key(KEY(trainable.scheduler))
            .def(true)
            .help("AdaLLaVA: train the scheduler head (ignored when adaptive.variant is none)."));
}

void add_data_keys(Schema& s) {
  s.add(key(KEY(data.train))
            .path()
            .required()
            .help("Training conversations: LLaVA JSON list or JSON lines (model.objective = "
                  "scene_patches: the suite's scenes.jsonl, its train split)."));
  s.add(key(KEY(data.image_folder))
            .path()
            .help("Directory the samples' image paths are relative to."));
  s.add(key(KEY(data.eval))
            .path()
            .help("Validation conversations (same format; scene_patches: a scenes.jsonl, its val "
                  "split). null = no eval."));
  s.add(key(KEY(data.eval_image_folder))
            .path()
            .help("Image directory for data.eval. null = data.image_folder."));
  s.add(
      key(KEY(data.max_length))
          .at_least(8)
          .at_most(1 << 20)
          .def(2048)
          .help(
              "Token sequence length limit, image tokens included (LLaVA model_max_length); longer "
              "samples are truncated."));
  s.add(key(KEY(data.group_by_modality_length))
            .def(false)
            .help("LLaVA's sampler: every global batch holds only image or only text samples, "
                  "grouped by "
                  "length."));
  s.add(key(KEY(data.shuffle)).def(true).help("Shuffle the training samples every epoch."));
  s.add(key(KEY(data.max_train_samples))
            .at_least(1)
            .help("Use only the first N training samples (quick runs). null = all."));
  s.add(key(KEY(data.max_eval_samples))
            .at_least(1)
            .help("Use only the first N eval samples. null = all."));
  s.add(key(KEY(data.num_workers))
            .at_least(0)
            .at_most(256)
            .def(2)
            .help("Data loading threads (0 = load on the training thread)."));
  s.add(key(KEY(data.prefetch))
            .at_least(0)
            .at_most(4096)
            .def(4)
            .help("Micro-batches prepared ahead of the training step."));
  s.add(key(KEY(data.bad_record_policy))
            .one_of({"fail", "skip"})
            .def("fail")
            .help("A malformed record or unreadable image: fail stops with its file and index; "
                  "skip logs it "
                  "and continues."));
}

void add_optimizer_keys(Schema& s) {
  s.add(key(KEY(optimizer.name)).one_of({"adamw"}).def("adamw").help("Optimizer (torch AdamW)."));
  s.add(key(KEY(optimizer.lr))
            .above(0)
            .at_most(10)
            .required()
            .help("Peak learning rate (after warmup)."));
  s.add(key(KEY(optimizer.betas))
            .length(2)
            .at_least(0)
            .below(1)
            .def(Value(std::vector<double>{0.9, 0.999}))
            .help("AdamW beta1, beta2."));
  s.add(key(KEY(optimizer.eps)).above(0).at_most(1).def(1e-8).help("AdamW epsilon."));
  s.add(key(KEY(optimizer.weight_decay))
            .at_least(0)
            .at_most(10)
            .def(0.0)
            .help("Decoupled weight decay; biases and norm weights are never decayed."));
  s.add(key(KEY(optimizer.grad_clip))
            .at_least(0)
            .def(1.0)
            .help("Clip the global gradient norm to this (max_grad_norm); 0 = no clipping."));
  s.add(key(KEY(optimizer.projector_lr))
            .above(0)
            .at_most(10)
            .help("Learning rate of the projector (LLaVA mm_projector_lr). null = optimizer.lr."));
  s.add(key(KEY(optimizer.scheduler_lr))
            .above(0)
            .at_most(10)
            .help("AdaLLaVA: learning rate of the latency encoder and scheduler. null = "
                  "optimizer.lr."));
}

void add_schedule_keys(Schema& s) {
  s.add(key(KEY(schedule.epochs))
            .above(0)
            .at_most(100000)
            .def(1.0)
            .help("Passes over data.train (fractions allowed). Ignored when max_steps is set."));
  s.add(key(KEY(schedule.max_steps))
            .at_least(1)
            .help("Total optimizer updates; when set it wins over epochs (as in HF Trainer)."));
  s.add(
      key(KEY(schedule.warmup_ratio))
          .at_least(0)
          .at_most(1)
          .def(0.0)
          .help(
              "Linear warmup over ceil(ratio * total updates). Ignored when warmup_steps is set."));
  s.add(key(KEY(schedule.warmup_steps))
            .at_least(0)
            .help("Linear warmup over this many updates; when set it wins over warmup_ratio."));
  s.add(key(KEY(schedule.lr_schedule))
            .one_of({"cosine", "linear", "constant"})
            .def("cosine")
            .help("Decay after warmup: cosine or linear to 0 at the last update, or constant."));
  s.add(key(KEY(schedule.global_batch_size))
            .at_least(1)
            .at_most(1 << 24)
            .def(128)
            .help("Samples per optimizer update over all processes; must be a multiple of "
                  "micro_batch_size "
                  "* world size (the quotient is the gradient accumulation)."));
  s.add(key(KEY(schedule.micro_batch_size))
            .at_least(1)
            .at_most(1 << 20)
            .def(16)
            .help("Samples per forward/backward pass on one process."));
  s.add(key(KEY(schedule.seed))
            .at_least(0)
            .at_most(4294967295LL)
            .def(42)
            .help("Seed for initialisation, shuffling and AdaLLaVA budget / Gumbel sampling."));
  s.add(
      key(KEY(schedule.eval_every))
          .def("never")
          .help("Evaluate on data.eval this often (500u = every 500 updates, 1e = every epoch)."));
}

void add_precision_keys(Schema& s) {
  s.add(key(KEY(precision.dtype))
            .one_of({"fp32", "bf16"})
            .def("fp32")
            .help("Compute dtype: fp32, or bf16 autocast for matmuls."));
  s.add(key(KEY(precision.master_weights))
            .one_of({"fp32", "bf16"})
            .def("fp32")
            .help("Dtype of the weights the optimizer updates; bf16 only with dtype bf16."));
}

void add_checkpointing_keys(Schema& s) {
  s.add(key(KEY(checkpointing.output_dir))
            .path()
            .required()
            .help("Run directory: checkpoints, config.yaml, metrics."));
  s.add(key(KEY(checkpointing.save_every))
            .def("1e")
            .help("Save a checkpoint this often (500u, 1e, never)."));
  s.add(key(KEY(checkpointing.save_final)).def(true).help("Save a checkpoint when training ends."));
  s.add(key(KEY(checkpointing.keep_last_n))
            .at_least(0)
            .def(0)
            .help("Keep only the newest N periodic checkpoints (0 = keep all)."));
  s.add(key(KEY(checkpointing.keep_best))
            .one_of({"eval_loss"})
            .help("Also keep the checkpoint with the best value of this metric (lowest loss). null "
                  "= off."));
  s.add(key(KEY(checkpointing.resume))
            .path()
            .help("auto = continue from the newest checkpoint in output_dir if there is one; a "
                  "directory = "
                  "continue from that checkpoint; null = start fresh."));
}

void add_logging_keys(Schema& s) {
  s.add(key(KEY(logging.log_every)).def("10u").help("Log loss, lr and throughput this often."));
  s.add(key(KEY(logging.progress))
            .one_of({"auto", "on", "off"})
            .def("auto")
            .help("Progress bar; auto = only when stderr is a terminal."));
  s.add(key(KEY(logging.metrics_file))
            .path()
            .def("metrics.jsonl")
            .help("JSON-lines metrics log; relative paths are inside output_dir. null = none."));
}

void add_adaptive_keys(Schema& s) {
  s.add(key(KEY(adaptive.variant))
            .one_of({"none", "L", "H"})
            .def("none")
            .help("AdaLLaVA scheduler: none (plain LLaVA), L (switch whole layers) or H (switch "
                  "heads and "
                  "MLP groups)."));
  s.add(key(KEY(adaptive.num_prefix_layers))
            .at_least(0)
            .at_most(1024)
            .def(16)
            .help("LLM layers that always run before the scheduler (16 for 7B, 20 for 13B)."));
  s.add(key(KEY(adaptive.scheduler_rank))
            .at_least(1)
            .at_most(1024)
            .def(8)
            .help("H: heads and MLP groups switched on per sampling step; must divide the head "
                  "count."));
  s.add(key(KEY(adaptive.tau))
            .above(0)
            .at_most(1000)
            .def(5.0)
            .help("Gumbel-softmax temperature of plan sampling (constant, as upstream)."));
  s.add(key(KEY(adaptive.min_train_budget))
            .at_least(0)
            .at_most(1)
            .def(0.0)
            .help("Lowest training budget: levels are drawn uniformly from those at or above it "
                  "(0 = every level, as upstream, whose prefix is half the LLM so that its "
                  "levels span budgets 0.5-1)."));
}

void add_runtime_keys(Schema& s) {
  s.add(key(KEY(threads))
            .at_least(0)
            .at_most(1024)
            .def(0)
            .help("Intra-op compute threads per process (0 = all cores)."));
  s.add(key(KEY(distributed.backend))
            .one_of({"gloo", "nccl"})
            .def("gloo")
            .help("Collective backend when running several processes."));
  s.add(key(KEY(distributed.timeout_seconds))
            .at_least(1)
            .at_most(86400 * 7)
            .def(1800)
            .help("Give up on a collective operation after this long."));
  s.add(key(KEY(distributed.bucket_cap_mb))
            .at_least(0)
            .at_most(4096)
            .def(4.0)
            .help("Gradients are all-reduced in buckets of about this many MB (0 = one per "
                  "parameter); small buckets start reducing earlier during backward."));
  s.add(key(KEY(distributed.overlap_with_backward))
            .def(true)
            .help("Start each bucket's all-reduce from the backward pass as soon as its "
                  "gradients are ready (off: all at once after backward)."));
}

#undef KEY

Schema build_train_schema() {
  Schema s;
  add_model_keys(s);
  add_trainable_keys(s);
  add_data_keys(s);
  add_optimizer_keys(s);
  add_schedule_keys(s);
  add_precision_keys(s);
  add_checkpointing_keys(s);
  add_logging_keys(s);
  add_adaptive_keys(s);
  add_runtime_keys(s);
  return s;
}

}  // namespace

const Schema& train_schema() {
  static const Schema schema = build_train_schema();
  return schema;
}

}  // namespace adallava::config
