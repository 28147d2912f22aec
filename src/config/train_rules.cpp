// Loading the training config, the rules that tie several keys together, and derived numbers.
#include <cmath>

#include <fmt/format.h>

#include "common/error.h"
#include "common/files.h"
#include "config/train_config.h"

namespace adallava::config {

namespace {

// "schedule.global_batch_size = 100 (configs/train/x.yaml:31)"
std::string cite(const ResolvedConfig& r, const std::string& key) {
  return fmt::format("{} = {} ({})", key, format_yaml_value(r.value(key)), r.origin(key));
}

void check_batch_geometry(const ResolvedConfig& r, int64_t world_size) {
  ADALLAVA_CHECK(world_size >= 1, "config: world size must be at least 1, got {}", world_size);
  const int64_t global = r.get_int("schedule.global_batch_size");
  const int64_t micro = r.get_int("schedule.micro_batch_size");
  const int64_t per_update = micro * world_size;
  if (global % per_update != 0) {
    fail(
        "config: {} is not a multiple of {} x world size {} = {}; gradient accumulation needs "
        "global = micro x world size x accumulation steps",
        cite(r, "schedule.global_batch_size"), cite(r, "schedule.micro_batch_size"), world_size,
        per_update);
  }
}

bool is_arch_key(const KeySpec& spec) {
  return spec.key.rfind("model.arch.", 0) == 0;
}

bool is_vision_pretraining(const ResolvedConfig& r) {
  return r.get_string("model.objective") == "scene_patches";
}

void check_arch(const ResolvedConfig& r) {
  // Vision pretraining builds only the tower: no tokenizer, no LLM shape.
  const bool tower_only = is_vision_pretraining(r);
  if (!tower_only && !r.is_set("model.tokenizer")) {
    fail("config: training from scratch (model.init is null) needs model.tokenizer");
  }
  // Shape keys are nullable so that checkpoint runs can leave them unset; from scratch they are
  // all needed, except the vocabulary size which the tokenizer can supply.
  // A from-scratch LLM beside a given tower (model.vision_tower): the tower's config.json has
  // the vision shape, so vision keys here would be ignored; refuse them instead.
  const bool tower_given = r.is_set("model.vision_tower");
  std::vector<std::string> missing;
  for (const auto& spec : r.schema().keys()) {
    const bool vision_key = spec.key.rfind("model.arch.vision_", 0) == 0;
    if (tower_given && vision_key && !(r.value(spec.key) == spec.default_value)) {
      fail("config: {} is set but model.vision_tower ({}) gives the vision shape",
           cite(r, spec.key), r.origin("model.vision_tower"));
    }
    const bool needed = tower_only ? vision_key : !(tower_given && vision_key);
    if (needed && is_arch_key(spec) && spec.nullable && spec.key != "model.arch.vocab_size" &&
        !r.is_set(spec.key)) {
      missing.push_back(spec.key);
    }
  }
  if (!missing.empty()) {
    fail("config: training from scratch (model.init is null) needs {}", fmt::join(missing, ", "));
  }
  const auto get = [&](const char* leaf) { return r.get_int(std::string("model.arch.") + leaf); };
  const auto divides = [&](const char* divisor, const char* whole) {
    if (get(whole) % get(divisor) != 0) {
      fail("config: model.arch.{} must be a multiple of model.arch.{}: {}, {}", whole, divisor,
           cite(r, std::string("model.arch.") + whole),
           cite(r, std::string("model.arch.") + divisor));
    }
  };
  if (tower_given) {
    if (!tower_only && r.get_int("data.max_length") > get("max_position_embeddings")) {
      fail("config: {} exceeds {}", cite(r, "data.max_length"),
           cite(r, "model.arch.max_position_embeddings"));
    }
    divides("llm_heads", "llm_hidden_size");
    divides("llm_kv_heads", "llm_heads");
    return;
  }
  divides("vision_patch_size", "vision_image_size");
  divides("vision_heads", "vision_hidden_size");
  if (!tower_only) {
    divides("llm_heads", "llm_hidden_size");
    divides("llm_kv_heads", "llm_heads");
  }
  // hidden_states has layers + 1 entries (the embeddings first), indexable from either end.
  const int64_t layers = get("vision_layers");
  const int64_t select = r.get_int("model.vision_select_layer");
  if (select > layers || select < -(layers + 1)) {
    fail("config: {} is outside the {} hidden states of a {}-layer vision tower ({})",
         cite(r, "model.vision_select_layer"), layers + 1, layers,
         cite(r, "model.arch.vision_layers"));
  }
  if (!tower_only && r.get_int("data.max_length") > get("max_position_embeddings")) {
    fail("config: {} exceeds {}", cite(r, "data.max_length"),
         cite(r, "model.arch.max_position_embeddings"));
  }
}

void check_model_source(const ResolvedConfig& r) {
  if (is_vision_pretraining(r)) {
    for (const char* key : {"model.init", "model.vision_tower", "model.projector_init"})
      if (r.is_set(key))
        fail(
            "config: {} is set, but model.objective = scene_patches builds a new vision tower "
            "from model.arch",
            cite(r, key));
    if (r.get_string("adaptive.variant") != "none")
      fail(
          "config: {} needs a LLaVA model, but model.objective = scene_patches trains a vision "
          "tower alone",
          cite(r, "adaptive.variant"));
    if (r.get_bool("trainable.llm"))
      fail("config: {} but model.objective = scene_patches has no LLM (set it to false)",
           cite(r, "trainable.llm"));
  }
  if (!r.is_set("model.init")) {
    check_arch(r);
    return;
  }
  // Shapes come from the checkpoint; an arch value would be silently ignored. Comparing values
  // (not origins) keeps a dumped config, which spells out every default, loadable.
  for (const auto& spec : r.schema().keys()) {
    if (is_arch_key(spec) && !(r.value(spec.key) == spec.default_value)) {
      fail(
          "config: {} is set but model.init ({}) is given; model.arch is only for training from "
          "scratch",
          cite(r, spec.key), r.origin("model.init"));
    }
  }
}

void check_adaptive(const ResolvedConfig& r) {
  const bool adaptive = r.get_string("adaptive.variant") != "none";
  if (!adaptive) {
    if (r.is_set("optimizer.scheduler_lr")) {
      fail("config: {} needs an AdaLLaVA scheduler, but adaptive.variant is none",
           cite(r, "optimizer.scheduler_lr"));
    }
    return;
  }
  if (r.is_set("model.init")) return;  // layer and head counts are known only after loading
  const int64_t layers = r.get_int("model.arch.llm_layers");
  if (r.get_int("adaptive.num_prefix_layers") >= layers) {
    fail("config: {} leaves no switchable layer in a {}-layer LLM ({})",
         cite(r, "adaptive.num_prefix_layers"), layers, cite(r, "model.arch.llm_layers"));
  }
  if (r.get_string("adaptive.variant") == "H" &&
      r.get_int("model.arch.llm_heads") % r.get_int("adaptive.scheduler_rank") != 0) {
    fail("config: {} must divide {}", cite(r, "adaptive.scheduler_rank"),
         cite(r, "model.arch.llm_heads"));
  }
}

void check_trainable(const ResolvedConfig& r) {
  const bool adaptive = r.get_string("adaptive.variant") != "none";
  bool any = r.get_bool("trainable.vision_tower") || r.get_bool("trainable.projector") ||
             r.get_bool("trainable.llm");
  if (adaptive)
    any = any || r.get_bool("trainable.latency_encoder") || r.get_bool("trainable.scheduler");
  if (!any) fail("config: every module is frozen (trainable.*): nothing to train");
  if (r.is_set("optimizer.projector_lr") && !r.get_bool("trainable.projector")) {
    fail("config: {} but {}", cite(r, "optimizer.projector_lr"), cite(r, "trainable.projector"));
  }
}

void check_schedule(const ResolvedConfig& r) {
  if (r.is_set("schedule.max_steps") && r.is_set("schedule.warmup_steps") &&
      r.get_int("schedule.warmup_steps") > r.get_int("schedule.max_steps")) {
    fail("config: {} is longer than {}", cite(r, "schedule.warmup_steps"),
         cite(r, "schedule.max_steps"));
  }
  if (r.get_frequency("schedule.eval_every").enabled() && !r.is_set("data.eval")) {
    fail("config: {} but data.eval (the validation set) is not set",
         cite(r, "schedule.eval_every"));
  }
  if (r.is_set("checkpointing.keep_best") && !r.get_frequency("schedule.eval_every").enabled()) {
    fail("config: {} needs evaluations, but schedule.eval_every is never",
         cite(r, "checkpointing.keep_best"));
  }
  if (r.get_string("precision.master_weights") == "bf16" &&
      r.get_string("precision.dtype") != "bf16") {
    fail("config: {} needs precision.dtype = bf16 ({})", cite(r, "precision.master_weights"),
         cite(r, "precision.dtype"));
  }
}

}  // namespace

void check_train_config(const ResolvedConfig& resolved, int64_t world_size) {
  if (&resolved.schema() != &train_schema()) fail("config: not a training configuration");
  resolved.check_required();
  check_batch_geometry(resolved, world_size);
  check_model_source(resolved);
  check_adaptive(resolved);
  check_trainable(resolved);
  check_schedule(resolved);
}

ResolvedConfig resolve_train_config(const std::vector<std::string>& config_files,
                                    const std::vector<std::string>& overrides, int64_t world_size) {
  ResolvedConfig resolved(train_schema());
  for (const auto& file : config_files) resolved.merge_file(file);
  for (const auto& argument : overrides) resolved.apply_override(argument);
  check_train_config(resolved, world_size);
  return resolved;
}

TrainConfig to_train_config(const ResolvedConfig& resolved) {
  return resolved.to_struct<TrainConfig>();
}

std::string write_resolved_config(const ResolvedConfig& resolved, const std::string& run_dir,
                                  const std::vector<std::string>& header) {
  const std::string path = join_path(run_dir, "config.yaml");
  write_text_file_atomic(path, resolved.to_yaml(header));
  return path;
}

int64_t TrainConfig::grad_accum_steps(int64_t world_size) const {
  const int64_t per_update = schedule.micro_batch_size * world_size;
  ADALLAVA_CHECK(world_size >= 1 && schedule.global_batch_size % per_update == 0,
                 "config: schedule.global_batch_size {} is not a multiple of micro_batch_size {} x "
                 "world size {}",
                 schedule.global_batch_size, schedule.micro_batch_size, world_size);
  return schedule.global_batch_size / per_update;
}

int64_t TrainConfig::updates_per_epoch(int64_t num_samples, int64_t world_size) const {
  ADALLAVA_CHECK(num_samples >= 1, "config: a training set of {} samples is empty", num_samples);
  const int64_t per_rank = (num_samples + world_size - 1) / world_size;
  const int64_t micro_batches =
      (per_rank + schedule.micro_batch_size - 1) / schedule.micro_batch_size;
  return std::max<int64_t>(1, micro_batches / grad_accum_steps(world_size));
}

int64_t TrainConfig::total_updates(int64_t updates_per_epoch) const {
  if (schedule.max_steps) return *schedule.max_steps;
  return static_cast<int64_t>(std::ceil(schedule.epochs * static_cast<double>(updates_per_epoch)));
}

int64_t TrainConfig::warmup_updates(int64_t total_updates) const {
  if (schedule.warmup_steps) return *schedule.warmup_steps;
  return static_cast<int64_t>(
      std::ceil(schedule.warmup_ratio * static_cast<double>(total_updates)));
}

}  // namespace adallava::config
