#include "train/run.h"

#include <algorithm>
#include <filesystem>

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "common/error.h"
#include "common/files.h"
#include "model/compute_env.h"
#include "train/adallava_objective.h"
#include "train/data/dataset.h"
#include "train/data/loader_stream.h"
#include "train/data/scene_patches.h"
#include "train/distributed/communicator.h"
#include "train/distributed/env.h"
#include "train/model_factory.h"
#include "train/scene_patch_objective.h"
#include "train/signals.h"

namespace adallava::train {

namespace {

int64_t image_tokens_of(const model::LlavaForCausalLMImpl& m) {
  return m.vision_config.num_patches() + (m.config.vision_select_feature == "cls_patch" ? 1 : 0);
}

image::PreprocessConfig preprocess_of(const BuiltModel& built) {
  if (!built.assets.preprocessor_config.empty())
    return image::PreprocessConfig::from_json_file(built.assets.preprocessor_config);
  return clip_preprocess_config(built.model->vision_config.image_size);
}

// The evaluation shard of one rank without the sampler's padding. The sampler repeats the first
// samples so that every rank gets the same count; rank r's k-th sample is position r + k * world
// of the padded order, so a rank holds at most one repeat, its very last sample. Dropping it makes
// the evaluation loss the one a single process computes over the set.
class UnpaddedEvalStream : public MicroBatchStream {
 public:
  UnpaddedEvalStream(std::unique_ptr<MicroBatchStream> inner, int64_t real_samples)
      : inner_(std::move(inner)), remaining_(real_samples) {}
  int64_t batches_per_epoch() const override { return inner_->batches_per_epoch(); }
  std::optional<TrainBatch> next() override {
    if (remaining_ <= 0) return std::nullopt;
    std::optional<TrainBatch> batch = inner_->next();
    if (!batch) return batch;
    while (static_cast<int64_t>(batch->samples.size()) > remaining_) {
      const auto& ids = batch->samples.back().ids;
      const auto images = std::count(ids.begin(), ids.end(), text::kImageTokenIndex);
      batch->images.resize(batch->images.size() - static_cast<size_t>(images));
      batch->samples.pop_back();
      batch->record_indices.pop_back();
    }
    remaining_ -= static_cast<int64_t>(batch->samples.size());
    if (batch->samples.empty()) return std::nullopt;
    return batch;
  }
  nlohmann::json position() const override { return inner_->position(); }
  void restore(const nlohmann::json& position) override { inner_->restore(position); }

 private:
  std::unique_ptr<MicroBatchStream> inner_;
  int64_t remaining_;
};

// Fails unless every rank resumes from the same update (-1: starts fresh); a rank that resumed
// alone would run different collectives from the others.
void require_same_resume(Communicator& communicator, const std::string& resume_dir) {
  if (communicator.world_size() == 1) return;
  const int64_t step = resume_dir.empty() ? -1 : load_trainer_state(resume_dir).step;
  const auto steps = communicator.all_gather(torch::tensor({step}, torch::kLong),
                                             "all-gather of the checkpoint to resume from");
  for (size_t rank = 1; rank < steps.size(); ++rank) {
    const int64_t other = steps[rank].item<int64_t>();
    if (other != steps[0].item<int64_t>())
      fail("{}: rank 0 {} but rank {} {}; every rank must see the same output directory",
           communicator.env().describe(),
           step < 0 ? std::string("starts fresh") : fmt::format("resumes update {}", step), rank,
           other < 0 ? std::string("starts fresh") : fmt::format("resumes update {}", other));
  }
}

// Other ranks log warnings and errors only; restored when the run ends.
struct RankLogLevel {
  explicit RankLogLevel(bool main) : saved(spdlog::get_level()) {
    if (!main && saved < spdlog::level::warn) spdlog::set_level(spdlog::level::warn);
  }
  ~RankLogLevel() { spdlog::set_level(saved); }
  spdlog::level::level_enum saved;
};

// Stops the handlers from outliving the run even when it throws.
struct StopHandlerScope {
  StopHandlerScope() { install_stop_handlers(); }
  ~StopHandlerScope() { remove_stop_handlers(); }
};

// What a run trains and on which data.
struct TrainingJob {
  std::unique_ptr<TrainingObjective> objective;
  std::unique_ptr<MicroBatchStream> train;
  EvalStreamFactory eval;  // empty: no evaluation
};

// LLaVA (stages 1 and 2) or AdaLLaVA on conversations.
TrainingJob llava_job(const config::TrainConfig& cfg, int64_t rank, int64_t world) {
  BuiltModel built = build_model(cfg);
  spdlog::info("[train] model: {}", built.origin);

  const text::Tokenizer tokenizer = text::Tokenizer::load(built.assets.tokenizer_model);
  if (tokenizer.vocab_size() > built.model->config.text.vocab_size)
    fail("{}: the tokenizer has {} pieces but the model's vocabulary is {}",
         built.assets.tokenizer_model, tokenizer.vocab_size(), built.model->config.text.vocab_size);
  const int64_t image_tokens = image_tokens_of(*built.model);
  const image::PreprocessConfig preprocess = preprocess_of(built);

  auto train_set = InstructionDataset::open(
      dataset_options(cfg, /*eval=*/false, image_tokens, preprocess), tokenizer);
  TrainingJob job;
  job.train = std::make_unique<LoaderBatchStream>(train_set,
                                                  loader_options(cfg, /*eval=*/false, rank, world));
  spdlog::info("[train] {}: {} records", train_set->path(), train_set->size());

  if (cfg.data.eval) {
    auto eval_set = InstructionDataset::open(
        dataset_options(cfg, /*eval=*/true, image_tokens, preprocess), tokenizer);
    spdlog::info("[train] {}: {} eval records", eval_set->path(), eval_set->size());
    LoaderOptions eval_options = loader_options(cfg, /*eval=*/true, rank, world);
    const int64_t records = static_cast<int64_t>(eval_set->size());
    const int64_t own = records > rank ? (records - rank + world - 1) / world : 0;
    job.eval = [eval_set, eval_options, own, world]() -> std::unique_ptr<MicroBatchStream> {
      auto shard = std::make_unique<LoaderBatchStream>(eval_set, eval_options);
      if (world == 1) return shard;
      return std::make_unique<UnpaddedEvalStream>(std::move(shard), own);
    };
  }

  if (cfg.adaptive_enabled()) {
    auto scheduler = prepare_adaptive_model(built.model, cfg);
    const auto& spec = scheduler->spec;
    spdlog::info(
        "[train] AdaLLaVA-{}: {} prefix layers, {} switchable units, tau {}, budgets from {}",
        adaptive::variant_name(spec.variant), spec.num_prefix_layers, spec.switchable_units(),
        cfg.adaptive.tau, cfg.adaptive.min_train_budget);
    job.objective = std::make_unique<AdaLlavaObjective>(
        built.model, built.assets, scheduler, cfg.adaptive.tau, cfg.adaptive.min_train_budget);
  } else {
    job.objective = std::make_unique<LlavaObjective>(built.model, built.assets);
  }
  return job;
}

// A vision tower pretrained on the synthetic suite's per-patch labels.
TrainingJob scene_patch_job(const config::TrainConfig& cfg, int64_t rank, int64_t world) {
  const model::VisionConfig vision = vision_config_from_arch(cfg.model.arch);
  ScenePatchModel model(vision, static_cast<int>(cfg.model.vision_select_layer));
  torch::manual_seed(static_cast<uint64_t>(cfg.schedule.seed));
  init_from_scratch(*model, cfg.model.arch.init_std);
  model->to(torch::kFloat32);
  model->train();
  spdlog::info(
      "[train] model: new {}-layer vision tower ({} px, patch {}, width {}) + patch "
      "label head, init std {}, seed {}",
      vision.num_layers, vision.image_size, vision.patch_size, vision.hidden_size,
      cfg.model.arch.init_std, cfg.schedule.seed);
  ScenePatchSetOptions options;
  options.image_size = vision.image_size;
  options.patch_size = vision.patch_size;
  options.preprocess = clip_preprocess_config(vision.image_size);
  const auto open = [&](const std::string& path, const char* split,
                        const std::optional<std::string>& folder) {
    options.scenes_path = path;
    options.split = split;
    options.image_folder = folder.value_or(parent_dir(path));
    return ScenePatchSet::open(options);
  };
  TrainingJob job;
  job.objective = std::make_unique<ScenePatchObjective>(model);
  const auto train_set = open(cfg.data.train, "train", cfg.data.image_folder);
  spdlog::info("[train] {}: {} training scenes, {} patches each", train_set->path(),
               train_set->size(), train_set->patches());
  job.train = std::make_unique<ScenePatchStream>(
      train_set, loader_options(cfg, /*eval=*/false, rank, world).sampler);
  if (cfg.data.eval) {
    const auto eval_set =
        open(*cfg.data.eval, "val",
             cfg.data.eval_image_folder ? cfg.data.eval_image_folder : cfg.data.image_folder);
    spdlog::info("[train] {}: {} validation scenes", eval_set->path(), eval_set->size());
    const SamplerOptions sampler = loader_options(cfg, /*eval=*/true, rank, world).sampler;
    job.eval = [eval_set, sampler]() -> std::unique_ptr<MicroBatchStream> {
      return std::make_unique<ScenePatchStream>(eval_set, sampler);
    };
  }
  return job;
}

}  // namespace

int run_training(const config::ResolvedConfig& resolved, const RunOptions& options) {
  const config::TrainConfig cfg = config::to_train_config(resolved);
  configure_compute(options.threads_override > 0 ? options.threads_override
                                                 : static_cast<int>(cfg.threads));
  const std::string& out = cfg.checkpointing.output_dir;

  // Rendezvous before anything slow, so a peer that never comes is reported early. Without the
  // torchrun variables this is a single process and every collective below is a no-op.
  const std::shared_ptr<Communicator> communicator = Communicator::connect(
      DistributedEnv::from_environment(), process_group_options(cfg.distributed));
  const int64_t rank = communicator->rank(), world = communicator->world_size();
  RankLogLevel log_level(communicator->is_main());
  if (world > 1)
    spdlog::info("[train] {} of a data-parallel job (rendezvous {}:{})",
                 communicator->env().describe(), communicator->env().master_addr,
                 communicator->env().master_port);

  // Resolve the checkpoint first: "auto" must not find checkpoints this run is about to write.
  std::string resume_dir;
  if (cfg.checkpointing.resume) {
    resume_dir = resolve_resume(*cfg.checkpointing.resume, out);
    if (resume_dir.empty())
      spdlog::info("[train] checkpointing.resume=auto: no checkpoint in {}, starting fresh", out);
  }
  require_same_resume(*communicator, resume_dir);

  if (communicator->is_main()) {
    std::filesystem::create_directories(out);
    const std::string config_path =
        config::write_resolved_config(resolved, out, options.command_line);
    spdlog::info("[train] run directory {} (resolved config {})", out, config_path);
  }

  TrainingJob job = cfg.model.objective == "scene_patches" ? scene_patch_job(cfg, rank, world)
                                                           : llava_job(cfg, rank, world);
  Trainer trainer(cfg, *job.objective, *job.train, job.eval, communicator);
  if (!resume_dir.empty()) trainer.resume(resume_dir);

  StopHandlerScope handlers;
  TrainResult result = trainer.run();
  if (result.stop_signal != 0) {
    spdlog::error(
        "[train] stopped by signal {} after update {}; checkpoint {} saved; continue with "
        "--resume {} (or --resume auto)",
        result.stop_signal, result.steps, result.last_checkpoint, result.last_checkpoint);
    return 128 + result.stop_signal;
  }
  spdlog::info("[train] done: {} updates, last loss {:.4f}{}", result.steps, result.last_loss,
               result.final_dir.empty() ? "" : ", final model in " + result.final_dir);
  return 0;
}

}  // namespace adallava::train
