// Writing a LLaVA model as a checkpoint directory in the original liuhaotian/llava-v1.5 layout,
// loadable by model::load_llava, `adallava generate` and LLaVA's Python code.
#pragma once

#include <string>

#include "io/weights.h"
#include "model/llava.h"
#include "train/objective.h"

namespace adallava::train {

// Name of the sub-folder holding a checkpoint's own vision tower (an HF CLIPVisionModel folder:
// config.json, preprocessor_config.json, model.safetensors with vision_model.* names).
// config.json's mm_vision_tower names it relative to the checkpoint; model::load_llava also
// looks there, LLaVA's Python code resolves it from the working directory.
inline constexpr const char* kOwnVisionTowerDir = "vision_tower";

// Parameters and buffers under their original-layout names, as CPU tensors (shared storage with
// the module: save or clone before the next update).
io::StateDict module_state(const torch::nn::Module& module);

// Writes an HF CLIPVisionModel folder into `dir` (created): model.safetensors with the
// vision_model.* tensors of `tower`, config.json from `config`, preprocessor_config.json.
void save_clip_vision_folder(const io::StateDict& tower, const model::VisionConfig& config,
                             const std::string& preprocessor_json, const std::string& dir);

// Writes into `dir` (created): model.safetensors (LLM + projector), config.json, tokenizer files,
// preprocessor_config.json, and the vision tower as described by `assets`.
void save_llava_weights(const model::LlavaForCausalLM& model, const CheckpointAssets& assets,
                        const std::string& dir);

// preprocessor_config.json contents of a CLIPImageProcessor at `image_size` with CLIP's mean/std
// (a tower built from scratch has no published one).
std::string clip_preprocessor_json(int image_size);

}  // namespace adallava::train
