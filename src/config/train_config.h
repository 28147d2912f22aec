// The configuration `adallava train` reads: the TrainConfig struct, its schema (every key with
// type, default, range and help, declared once in train_schema.cpp), loading with merge order
// and overrides, cross-key checks and the numbers derived from them.
//
//   ResolvedConfig resolved = resolve_train_config({"configs/train/x.yaml"},
//   {"optimizer.lr=1e-4"}); TrainConfig cfg = to_train_config(resolved);
//   write_resolved_config(resolved, cfg.checkpointing.output_dir, {"adallava train ..."});
//
// docs/configuration.md has the key reference (generated from the schema).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/frequency.h"
#include "config/resolved_config.h"
#include "config/schema.h"

namespace adallava::config {

// Shapes for building a model from scratch (model.init null). The shape fields must then all be
// set; with model.init they must all be null, the shapes coming from the checkpoint.
struct ArchConfig {
  std::optional<int64_t> vision_image_size;
  std::optional<int64_t> vision_patch_size;
  std::optional<int64_t> vision_hidden_size;
  std::optional<int64_t> vision_layers;
  std::optional<int64_t> vision_heads;
  std::optional<int64_t> vision_mlp_dim;
  double vision_layer_norm_eps = 0;
  std::optional<int64_t> llm_hidden_size;
  std::optional<int64_t> llm_layers;
  std::optional<int64_t> llm_heads;
  std::optional<int64_t> llm_kv_heads;
  std::optional<int64_t> llm_mlp_dim;
  std::optional<int64_t> vocab_size;  // null: the tokenizer's size
  std::optional<int64_t> max_position_embeddings;
  double rope_theta = 0;
  double rms_norm_eps = 0;
  double init_std = 0;
};

struct ModelConfig {
  std::optional<std::string> init;
  std::optional<std::string> projector_init;
  std::optional<std::string> vision_tower;
  std::optional<std::string> tokenizer;
  std::string objective;
  std::string projector_type;
  int64_t vision_select_layer = 0;
  std::string vision_select_feature;
  std::string image_aspect_ratio;
  std::string conv_template;
  ArchConfig arch;
};

struct TrainableConfig {
  bool vision_tower = false;
  bool projector = false;
  bool llm = false;
  bool latency_encoder = false;
  bool scheduler = false;
};

struct DataConfig {
  std::string train;
  std::optional<std::string> image_folder;
  std::optional<std::string> eval;
  std::optional<std::string> eval_image_folder;
  int64_t max_length = 0;
  bool group_by_modality_length = false;
  bool shuffle = true;
  std::optional<int64_t> max_train_samples;
  std::optional<int64_t> max_eval_samples;
  int64_t num_workers = 0;
  int64_t prefetch = 0;
  std::string bad_record_policy;
};

struct OptimizerConfig {
  std::string name;
  double lr = 0;
  std::vector<double> betas;
  double eps = 0;
  double weight_decay = 0;
  double grad_clip = 0;
  std::optional<double> projector_lr;
  std::optional<double> scheduler_lr;
};

struct ScheduleConfig {
  double epochs = 0;
  std::optional<int64_t> max_steps;
  double warmup_ratio = 0;
  std::optional<int64_t> warmup_steps;
  std::string lr_schedule;
  int64_t global_batch_size = 0;
  int64_t micro_batch_size = 0;
  int64_t seed = 0;
  Frequency eval_every;
};

struct PrecisionConfig {
  std::string dtype;
  std::string master_weights;
};

struct CheckpointingConfig {
  std::string output_dir;
  Frequency save_every;
  bool save_final = true;
  int64_t keep_last_n = 0;
  std::optional<std::string> keep_best;
  std::optional<std::string> resume;
};

struct LoggingConfig {
  Frequency log_every;
  std::string progress;
  std::optional<std::string> metrics_file;
};

struct AdaptiveConfig {
  std::string variant;
  int64_t num_prefix_layers = 0;
  int64_t scheduler_rank = 0;
  double tau = 0;
  double min_train_budget = 0;
};

struct DistributedConfig {
  std::string backend;
  int64_t timeout_seconds = 0;
  double bucket_cap_mb = 0;
  bool overlap_with_backward = true;
};

struct TrainConfig {
  ModelConfig model;
  TrainableConfig trainable;
  DataConfig data;
  OptimizerConfig optimizer;
  ScheduleConfig schedule;
  PrecisionConfig precision;
  CheckpointingConfig checkpointing;
  LoggingConfig logging;
  AdaptiveConfig adaptive;
  DistributedConfig distributed;
  int64_t threads = 0;

  bool adaptive_enabled() const { return adaptive.variant != "none"; }
  // Micro-batches accumulated per optimizer update: global / (micro * world_size).
  int64_t grad_accum_steps(int64_t world_size = 1) const;
  // Optimizer updates in one epoch over `num_samples` (per-rank loader length without dropping
  // the last partial batch, divided by grad_accum_steps, at least 1; as HF Trainer counts).
  int64_t updates_per_epoch(int64_t num_samples, int64_t world_size = 1) const;
  // schedule.max_steps when set, else ceil(epochs * updates_per_epoch).
  int64_t total_updates(int64_t updates_per_epoch) const;
  // schedule.warmup_steps when set, else ceil(warmup_ratio * total_updates).
  int64_t warmup_updates(int64_t total_updates) const;
};

// The schema bound to TrainConfig (built once).
const Schema& train_schema();

// Defaults <- each file in order <- each override in order; then required keys and the
// cross-key rules (check_train_config) for a job of `world_size` processes.
ResolvedConfig resolve_train_config(const std::vector<std::string>& config_files,
                                    const std::vector<std::string>& overrides,
                                    int64_t world_size = 1);

// Rules that involve several keys, e.g. global_batch_size divisible by micro_batch_size *
// world_size. Messages name the keys and where their values came from.
void check_train_config(const ResolvedConfig& resolved, int64_t world_size = 1);

TrainConfig to_train_config(const ResolvedConfig& resolved);

// Writes the resolved config to <run_dir>/config.yaml (atomically), with `header` lines as a
// comment; returns the file's path. `adallava train --config <that file>` repeats the run.
std::string write_resolved_config(const ResolvedConfig& resolved, const std::string& run_dir,
                                  const std::vector<std::string>& header);

}  // namespace adallava::config
