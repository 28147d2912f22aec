// Builds the model a training run starts from: a checkpoint (model.init), a bare LLaMA/Vicuna
// LLM plus a CLIP tower (LLaVA stage 1), or a new model from model.arch; then the projector of a
// stage-1 run (model.projector_init).
#pragma once

#include <optional>
#include <string>

#include "config/train_config.h"
#include "model/llava.h"
#include "train/objective.h"

namespace adallava::train {

struct BuiltModel {
  model::LlavaForCausalLM model{nullptr};
  CheckpointAssets assets;
  std::string origin;  // one line for the log: where the weights came from
};

// Float32 model on CPU (the trainer casts when master weights are bf16). Seeds torch's default
// generator with schedule.seed before a from-scratch init, so a recipe always gives the same
// initial weights.
BuiltModel build_model(const config::TrainConfig& cfg);

// LlavaConfig / VisionConfig of a from-scratch model (model.arch, the tokenizer's vocabulary).
model::LlavaConfig llava_config_from_arch(const config::TrainConfig& cfg, int64_t vocab_size,
                                          const model::VisionConfig& vision);
model::VisionConfig vision_config_from_arch(const config::ArchConfig& arch);
// The vision tower configuration build_model(cfg) will use, resolved the same way without loading
// weights: model.init's (embedded, or its tower directory with model.vision_tower first), else
// model.vision_tower's, else model.arch's. nullopt when the recipe does not tell yet (model.init
// not written, its tower not found, no vision sizes in model.arch).
std::optional<model::VisionConfig> recipe_vision_config(const config::TrainConfig& cfg);

// HF _init_weights: weights N(0, std) (linear, conv, embeddings, CLIP class embedding), biases 0,
// norm weights 1; the pad token's embedding row 0 (nn.Embedding padding_idx).
void init_weights(model::LlavaForCausalLMImpl& model, double std);
// The same rule for any module: norms 1/0, biases 0, other weights normal(0, std).
void init_from_scratch(torch::nn::Module& module, double std);

// Replaces the projector weights from `path`: a file (mm_projector.bin / .safetensors / any
// weights file) or a checkpoint directory (mm_projector.bin, or the model weights); tensors are
// found by their "mm_projector." infix. Errors name the path.
void load_projector(model::LlavaForCausalLMImpl& model, const std::string& path);

}  // namespace adallava::train
