// Everything the exporter reads from a checkpoint: the LLaVA-1.5 weights (as our eager model),
// the AdaLLaVA scheduler when present, preprocessing and tokenizer.
#pragma once

#include <optional>
#include <string>

#include <c10/core/ScalarType.h>
#include <nlohmann/json.hpp>

#include "data/image/preprocess.h"
#include "io/weights.h"
#include "model/llava.h"

namespace adallava::exporter {

// The AdaLLaVA part of a checkpoint (config keys num_prefix_layers, scheduler_type,
// scheduler_rank; tensors scheduler.*).
struct SchedulerSource {
  std::string variant;  // "L" or "H"
  int num_prefix_layers = 0;
  int scheduler_rank = 0;  // heads (and MLP groups) per H step; unused for L
  // The 8 tensors without their "scheduler." prefix, in the export dtype:
  // scheduler_up_proj.net.{0,1,3}.{weight,bias}, mlp_head.{weight,bias}.
  io::StateDict weights;
};

struct ExportSource {
  model::LlavaForCausalLM model{nullptr};  // loaded, eval mode, in the export dtype
  std::optional<SchedulerSource> scheduler;
  image::PreprocessConfig preprocess;
  std::string checkpoint_dir;
  std::string tokenizer_path;
  nlohmann::json source_config;  // the checkpoint's config.json
};

struct SourceOptions {
  std::string vision_tower_dir;  // overrides mm_vision_tower
  c10::ScalarType dtype = c10::ScalarType::Float;
};

// Plain LLaVA checkpoints go through model::load_llava; AdaLLaVA checkpoints (config with
// scheduler_type, or scheduler.* tensors) have their scheduler split off first. Errors name the
// checkpoint and the offending key or tensor.
ExportSource read_export_source(const std::string& checkpoint_dir, const SourceOptions& options);

}  // namespace adallava::exporter
