// Rules spanning several keys, and the numbers derived from the schedule.
#include <catch2/catch.hpp>

#include "common/error.h"
#include "config/train_config.h"

using namespace adallava::config;
using Catch::Matchers::Contains;

namespace {

const char* kFromCheckpoint = R"(model:
  init: ckpt/llava
data:
  train: train.json
optimizer:
  lr: 1e-4
schedule:
  global_batch_size: 128
  micro_batch_size: 16
checkpointing:
  output_dir: runs/x
)";

const char* kFromScratch = R"(model:
  tokenizer: spm/tokenizer.model
  arch:
    vision_image_size: 96
    vision_patch_size: 16
    vision_hidden_size: 128
    vision_layers: 4
    vision_heads: 4
    vision_mlp_dim: 512
    llm_hidden_size: 256
    llm_layers: 8
    llm_heads: 8
    llm_kv_heads: 8
    llm_mlp_dim: 688
    max_position_embeddings: 512
data:
  train: train.json
  max_length: 256
optimizer:
  lr: 1e-3
checkpointing:
  output_dir: runs/x
)";

ResolvedConfig load(const char* base, const std::vector<std::string>& overrides) {
  ResolvedConfig r(train_schema());
  r.merge_yaml_text(base, "base.yaml");
  for (const auto& o : overrides) r.apply_override(o);
  return r;
}

std::string rule_error(const char* base, const std::vector<std::string>& overrides,
                       int64_t world_size = 1) {
  const ResolvedConfig r = load(base, overrides);
  try {
    check_train_config(r, world_size);
  } catch (const adallava::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("global batch must be a multiple of micro batch times world size") {
  CHECK(rule_error(kFromCheckpoint, {}) == "");
  CHECK(rule_error(kFromCheckpoint, {}, 8) == "");
  CHECK(to_train_config(load(kFromCheckpoint, {})).grad_accum_steps(8) == 1);
  CHECK(to_train_config(load(kFromCheckpoint, {})).grad_accum_steps(2) == 4);

  const std::string msg = rule_error(kFromCheckpoint, {"schedule.global_batch_size=100"});
  CHECK_THAT(msg, Contains("schedule.global_batch_size = 100 (override") &&
                      Contains("schedule.micro_batch_size = 16 (base.yaml:9)") &&
                      Contains("world size 1"));
  // Divisible by micro, but not by micro x world size.
  CHECK_THAT(rule_error(kFromCheckpoint, {}, 3), Contains("world size 3 = 48"));
  CHECK_THAT(rule_error(kFromCheckpoint, {}, 16), Contains("not a multiple"));  // 128 < 256
  CHECK_THROWS_AS(to_train_config(load(kFromCheckpoint, {})).grad_accum_steps(3), adallava::Error);
}

TEST_CASE("training from scratch checks the architecture") {
  CHECK(rule_error(kFromScratch, {}) == "");
  CHECK_THAT(rule_error(kFromScratch, {"model.tokenizer=null"}), Contains("model.tokenizer"));
  CHECK_THAT(rule_error(kFromScratch, {"model.arch.llm_heads=6"}),
             Contains("llm_hidden_size must be a multiple of model.arch.llm_heads"));
  CHECK_THAT(rule_error(kFromScratch, {"model.arch.llm_kv_heads=3"}), Contains("llm_kv_heads"));
  CHECK_THAT(rule_error(kFromScratch, {"model.arch.vision_patch_size=14"}),
             Contains("vision_image_size must be a multiple of model.arch.vision_patch_size"));
  CHECK_THAT(rule_error(kFromScratch, {"model.vision_select_layer=-6"}),
             Contains("model.vision_select_layer = -6"));
  CHECK(rule_error(kFromScratch, {"model.vision_select_layer=-5"}) == "");  // embeddings
  CHECK_THAT(
      rule_error(kFromScratch, {"model.arch.llm_layers=null", "model.arch.vision_heads=null"}),
      Contains("needs model.arch.vision_heads, model.arch.llm_layers"));
  CHECK(rule_error(kFromScratch, {"model.arch.vocab_size=1000"}) == "");
  CHECK_THAT(rule_error(kFromScratch, {"data.max_length=4096"}),
             Contains("data.max_length = 4096") && Contains("max_position_embeddings"));
}

TEST_CASE("arch keys next to model.init are an error naming where they were set") {
  CHECK_THAT(
      rule_error(kFromCheckpoint, {"model.arch.llm_layers=4"}),
      Contains("model.arch.llm_layers = 4 (override") && Contains("model.init (base.yaml:2)"));
  CHECK_THAT(rule_error(kFromCheckpoint, {"model.arch.rope_theta=500000"}), Contains("rope_theta"));
  // Values equal to the defaults (as a dumped config spells them out) are fine.
  CHECK(rule_error(kFromCheckpoint,
                   {"model.arch.rope_theta=10000", "model.arch.llm_layers=null"}) == "");
}

TEST_CASE("adaptive settings are checked against the architecture") {
  CHECK(rule_error(kFromScratch, {"adaptive.variant=L", "adaptive.num_prefix_layers=4"}) == "");
  CHECK_THAT(rule_error(kFromScratch, {"adaptive.variant=L", "adaptive.num_prefix_layers=8"}),
             Contains("no switchable layer"));
  CHECK(rule_error(kFromScratch, {"adaptive.variant=H", "adaptive.num_prefix_layers=4",
                                  "adaptive.scheduler_rank=2"}) == "");
  CHECK_THAT(rule_error(kFromScratch, {"adaptive.variant=H", "adaptive.num_prefix_layers=4",
                                       "adaptive.scheduler_rank=3"}),
             Contains("adaptive.scheduler_rank = 3") && Contains("model.arch.llm_heads = 8"));
  CHECK_THAT(rule_error(kFromCheckpoint, {"optimizer.scheduler_lr=1e-4"}),
             Contains("adaptive.variant is none"));
}

TEST_CASE("other cross-key rules") {
  CHECK_THAT(rule_error(kFromCheckpoint, {"trainable.projector=false", "trainable.llm=false"}),
             Contains("nothing to train"));
  // Latency encoder and scheduler only count when AdaLLaVA is on.
  CHECK(rule_error(kFromCheckpoint, {"trainable.projector=false", "trainable.llm=false",
                                     "adaptive.variant=L"}) == "");
  CHECK_THAT(
      rule_error(kFromCheckpoint, {"trainable.projector=false", "optimizer.projector_lr=1e-5"}),
      Contains("optimizer.projector_lr"));
  CHECK_THAT(rule_error(kFromCheckpoint, {"schedule.eval_every=100u"}), Contains("data.eval"));
  CHECK(rule_error(kFromCheckpoint, {"schedule.eval_every=100u", "data.eval=val.json"}) == "");
  CHECK_THAT(rule_error(kFromCheckpoint, {"checkpointing.keep_best=eval_loss"}),
             Contains("needs evaluations"));
  CHECK_THAT(rule_error(kFromCheckpoint, {"precision.master_weights=bf16"}),
             Contains("precision.dtype = fp32"));
  CHECK_THAT(rule_error(kFromCheckpoint, {"schedule.max_steps=10", "schedule.warmup_steps=20"}),
             Contains("warmup_steps"));
  CHECK_THROWS_WITH(load(kFromCheckpoint, {"data.train=null"}), Contains("may not be null"));
}

TEST_CASE("derived update counts follow HF Trainer (LLaVA's 2181/66 and 5198/156)") {
  // Stage 1: 558,128 samples, 8 processes x 32, global 256.
  TrainConfig stage1 = to_train_config(
      load(kFromCheckpoint, {"schedule.global_batch_size=256", "schedule.micro_batch_size=32",
                             "schedule.warmup_ratio=0.03"}));
  const int64_t per_epoch1 = stage1.updates_per_epoch(558128, 8);
  CHECK(per_epoch1 == 2181);
  CHECK(stage1.total_updates(per_epoch1) == 2181);
  CHECK(stage1.warmup_updates(2181) == 66);
  // One process accumulating 8 micro-batches: 17,442 micro-batches // 8 = 2180 updates (HF
  // drops the last partial accumulation from the count).
  CHECK(stage1.updates_per_epoch(558128, 1) == 2180);

  // Stage 2: 665,298 samples, 8 x 16, global 128.
  TrainConfig stage2 = to_train_config(load(kFromCheckpoint, {"schedule.warmup_ratio=0.03"}));
  const int64_t per_epoch2 = stage2.updates_per_epoch(665298, 8);
  CHECK(per_epoch2 == 5198);
  CHECK(stage2.warmup_updates(stage2.total_updates(per_epoch2)) == 156);

  // max_steps wins over epochs, warmup_steps over warmup_ratio.
  TrainConfig capped = to_train_config(load(
      kFromCheckpoint, {"schedule.max_steps=100", "schedule.warmup_steps=5", "schedule.epochs=3"}));
  CHECK(capped.total_updates(5198) == 100);
  CHECK(capped.warmup_updates(100) == 5);
  TrainConfig fractional = to_train_config(load(kFromCheckpoint, {"schedule.epochs=1.5"}));
  CHECK(fractional.total_updates(11) == 17);       // ceil(16.5)
  CHECK(fractional.updates_per_epoch(3, 1) == 1);  // tiny data still makes one update
}
