// Vision-tower pretraining objective: a CLIP vision tower plus one linear head that predicts, for
// every patch feature LLaVA would take (model.vision_select_layer, patch tokens), what the patch
// holds (scene_patches.h). The run's output is an HF CLIPVisionModel folder that the LLaVA
// recipes take as model.vision_tower, as LLaVA takes openai/clip-vit-large-patch14-336.
#pragma once

#include <string>

#include "model/clip_vision.h"
#include "train/objective.h"

namespace adallava::train {

struct ScenePatchModelImpl : torch::nn::Module {
  ScenePatchModelImpl(const model::VisionConfig& config, int select_layer);
  // [B, patches, total classes] logits of every head side by side.
  torch::Tensor forward(const torch::Tensor& pixels);
  model::ClipVisionModel tower{nullptr};
  torch::nn::Linear head{nullptr};
  int select_layer;
};
TORCH_MODULE(ScenePatchModel);

class ScenePatchObjective : public TrainingObjective {
 public:
  explicit ScenePatchObjective(ScenePatchModel model);
  // Loss: the sum over heads of the mean cross-entropy over every patch of the micro-batch;
  // loss_tokens = patches, so accumulation weighs micro-batches by their patch count. Without
  // autograd it also counts the accuracies of accuracy_names().
  LossOutput forward(const TrainBatch& batch, at::Generator& rng) override;
  torch::nn::Module& module() override;
  // tower.* -> vision_tower, head.* -> projector (the part between the tower and its use).
  std::string group_of(const std::string& param_name) const override;
  // The tower as an HF CLIPVisionModel folder, plus patch_head.safetensors for resuming.
  void save_weights(const std::string& dir) const override;
  void load_weights(const std::string& dir) override;

  // patch_<head> for shape, colour, letter and size: the share of the patches whose label is
  // not "nothing" that the head gets right (empty patches would swamp it: most are background).
  std::vector<std::string> accuracy_names() const override;

 private:
  ScenePatchModel model_;
};

}  // namespace adallava::train
