// Loading published LLaVA-1.5 checkpoints (both layouts, any weight format) into LlavaForCausalLM.
#pragma once

#include <functional>
#include <string>

#include <c10/core/ScalarType.h>

#include "data/image/preprocess.h"
#include "io/weights.h"
#include "model/llava.h"

namespace adallava::model {

// "fp32"/"float32" or "bf16"/"bfloat16"; anything else is an error naming `option`.
c10::ScalarType parse_compute_dtype(const std::string& name, const std::string& option);
const char* compute_dtype_name(c10::ScalarType dtype);

struct LoadOptions {
  std::string vision_tower_dir;  // overrides mm_vision_tower (needed when it is a hub id)
  c10::ScalarType dtype = c10::ScalarType::Float;  // float16 checkpoints are converted
  // Adds modules the LLaVA layout lacks (AdaLLaVA's scheduler) before the strict load. A
  // checkpoint whose config asks for them fails to load without it.
  std::function<void(LlavaForCausalLMImpl&)> extend;
};

struct LoadedLlava {
  LlavaForCausalLM model{nullptr};
  image::PreprocessConfig preprocess;
  std::string checkpoint_dir;
  std::string vision_tower_dir;  // where the tower's weights came from ("" = embedded)
  std::string tokenizer_path;    // <dir>/tokenizer.model (existence checked by the tokenizer)
};

// Reads config.json, weights (safetensors/.bin, sharded or not), the vision tower (embedded or
// from its own directory), and loads strictly: missing, unexpected or mis-shaped tensors are
// one error listing them. Known unused buffers (rotary inv_freq, CLIP position_ids, CLIP text
// tower) are skipped on purpose.
LoadedLlava load_llava(const std::string& dir, const LoadOptions& options = {});

// The directory load_llava takes the vision tower from when `cfg` (read from `dir`) has none
// embedded: options.vision_tower_dir, else mm_vision_tower as given, under `dir` or beside it;
// "" when none exists.
std::string resolve_tower_dir(const LlavaConfig& cfg, const std::string& dir,
                              const LoadOptions& options);

// Renames a checkpoint's tensors to the original LLaVA layout used by our modules.
io::StateDict to_original_layout(const io::StateDict& weights, CheckpointLayout layout);

// Copies `weights` into the module's parameters and buffers (converting dtype); throws an
// adallava::Error naming `source` and listing every missing, unexpected or mis-shaped tensor.
void load_state_dict_strict(torch::nn::Module& module, const io::StateDict& weights,
                            const std::string& source);

}  // namespace adallava::model
