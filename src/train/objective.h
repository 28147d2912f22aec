// What the trainer optimises: a module, its loss on a micro-batch, and how its parameters group.
// The plain LLaVA objective lives here; AdaLLaVA plugs in its own implementation.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <ATen/Tensor.h>
#include <ATen/core/Generator.h>

#include "model/llava.h"
#include "train/data/batch.h"

namespace torch::nn {
class Module;
}

namespace adallava::train {

// Hits out of a total, summed over an evaluation set before dividing.
struct AccuracyCount {
  double hits = 0;
  double total = 0;
};

struct LossOutput {
  at::Tensor loss;           // scalar: mean cross-entropy over the micro-batch's loss tokens
  int64_t loss_tokens = 0;   // tokens that entered that mean (shifted label != -100)
  int64_t input_tokens = 0;  // sequence positions processed (text + image features, no padding)
  // Filled only without autograd (the trainer's evaluation): the objective's accuracies, keyed
  // by the names of accuracy_names(). Training steps skip the extra argmax.
  std::map<std::string, AccuracyCount> accuracy;
};

class TrainingObjective {
 public:
  virtual ~TrainingObjective();
  virtual LossOutput forward(const TrainBatch& batch, at::Generator& rng) = 0;
  virtual torch::nn::Module& module() = 0;
  // Parameter group of a parameter name: vision_tower, projector, llm, latency_encoder or
  // scheduler (freezing and per-group learning rates use it). The default knows LLaVA's names.
  virtual std::string group_of(const std::string& param_name) const;
  // Writes the weights and config.json of a checkpoint loadable by model::load_llava.
  virtual void save_weights(const std::string& dir) const = 0;
  // Loads what save_weights wrote into the module (resuming); strict: every tensor must match.
  virtual void load_weights(const std::string& dir) = 0;
  // The accuracies forward() reports on evaluation batches, in a fixed order (every rank sums
  // them in this order). The default: token_accuracy, the share of loss tokens whose greedy
  // prediction is the label, as shifted_cross_entropy reports it.
  virtual std::vector<std::string> accuracy_names() const;
};

// The LLaVA parameter groups by name prefix (model.vision_tower.* -> vision_tower,
// model.mm_projector.* -> projector, everything else -> llm).
std::string llava_group_of(const std::string& param_name);

// HF LlamaForCausalLM's loss: logits [B,T,V] predict labels [B,T] shifted by one; mean over the
// targets != -100. With no target at all the loss is 0 (still attached to the graph) instead of
// NaN, so an all-masked micro-batch adds nothing. Without autograd it also counts token_accuracy.
LossOutput shifted_cross_entropy(const at::Tensor& logits, const at::Tensor& labels);

// Everything a checkpoint needs besides the weights: where the tokenizer and the image
// preprocessing come from and how the vision tower is stored.
struct CheckpointAssets {
  std::string tokenizer_model;       // tokenizer.model to copy
  std::string tokenizer_config_dir;  // directory with tokenizer_config.json etc. ("" = none)
  std::string preprocessor_config;   // preprocessor_config.json to copy ("" = generate)
  // Empty: the tower's weights are written into the checkpoint (vision_tower/ sub-folder, an HF
  // CLIPVisionModel folder) and config.json points there. Otherwise config.json points to this
  // existing tower directory and its weights are not copied (a frozen pretrained CLIP).
  std::string external_vision_tower;
};

// Plain LLaVA: splice image features, run the decoder without cache, token-mean cross-entropy.
class LlavaObjective : public TrainingObjective {
 public:
  LlavaObjective(model::LlavaForCausalLM model, CheckpointAssets assets);
  LossOutput forward(const TrainBatch& batch, at::Generator& rng) override;
  torch::nn::Module& module() override;
  void save_weights(const std::string& dir) const override;
  void load_weights(const std::string& dir) override;

  model::LlavaForCausalLM& model() { return model_; }
  const CheckpointAssets& assets() const { return assets_; }

 private:
  model::LlavaForCausalLM model_;
  CheckpointAssets assets_;
};

}  // namespace adallava::train
