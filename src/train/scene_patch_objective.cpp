#include "train/scene_patch_objective.h"

#include <torch/torch.h>

#include "common/error.h"
#include "common/files.h"
#include "io/weights.h"
#include "model/loader.h"
#include "train/data/scene_patches.h"
#include "train/llava_checkpoint.h"

namespace adallava::train {

namespace {

constexpr char kTowerPrefix[] = "tower.";
constexpr char kHeadFile[] = "patch_head.safetensors";

}  // namespace

ScenePatchModelImpl::ScenePatchModelImpl(const model::VisionConfig& config, int select_layer_)
    : select_layer(select_layer_) {
  tower = register_module("tower", model::ClipVisionModel(config));
  head = register_module("head",
                         torch::nn::Linear(config.hidden_size, ScenePatchHeads::total_classes()));
}

torch::Tensor ScenePatchModelImpl::forward(const torch::Tensor& pixels) {
  return head(tower->select_features(pixels, select_layer, "patch"));
}

ScenePatchObjective::ScenePatchObjective(ScenePatchModel model) : model_(std::move(model)) {}

torch::nn::Module& ScenePatchObjective::module() {
  return *model_;
}

std::string ScenePatchObjective::group_of(const std::string& name) const {
  if (name.rfind(kTowerPrefix, 0) == 0) return "vision_tower";
  if (name.rfind("head.", 0) == 0) return "projector";
  fail("scene patch objective: parameter '{}' belongs to no group", name);
}

LossOutput ScenePatchObjective::forward(const TrainBatch& batch, at::Generator& /*rng*/) {
  if (batch.images.empty() || batch.images.size() != batch.targets.size())
    fail(
        "trainer: a vision-pretraining micro-batch needs one target per image ({} images, {} "
        "targets)",
        batch.images.size(), batch.targets.size());
  const auto pixels = torch::stack(batch.images);
  const auto targets = torch::stack(batch.targets);  // [B, P, heads]
  const auto logits = model_->forward(pixels.to(model_->head->weight.dtype()));
  ADALLAVA_CHECK(logits.size(1) == targets.size(1),
                 "trainer: the tower gives {} patches but the targets have {} (image or patch "
                 "size differs from the scenes')",
                 logits.size(1), targets.size(1));
  const bool count_accuracy = !torch::GradMode::is_enabled();
  LossOutput out;
  torch::Tensor loss;
  int64_t offset = 0;
  for (int h = 0; h < ScenePatchHeads::kCount; ++h) {
    const int64_t n = ScenePatchHeads::classes()[static_cast<size_t>(h)];
    auto head_logits = logits.narrow(2, offset, n).reshape({-1, n}).to(torch::kFloat32);
    const auto truth = targets.select(2, h).reshape({-1});
    auto head_loss = torch::nn::functional::cross_entropy(head_logits, truth);
    loss = h == 0 ? head_loss : loss + head_loss;
    if (count_accuracy) {
      const auto labelled = truth.ne(0);
      const double hits =
          head_logits.argmax(1).eq(truth).logical_and(labelled).sum().item<double>();
      out.accuracy[std::string("patch_") + ScenePatchHeads::names()[static_cast<size_t>(h)]] = {
          hits, labelled.sum().item<double>()};
    }
    offset += n;
  }
  out.loss = loss;
  out.loss_tokens = targets.size(0) * targets.size(1);
  out.input_tokens = targets.size(0) * (targets.size(1) + 1);  // + CLS
  return out;
}

std::vector<std::string> ScenePatchObjective::accuracy_names() const {
  std::vector<std::string> names;
  for (const char* head : ScenePatchHeads::names()) names.push_back(std::string("patch_") + head);
  return names;
}

void ScenePatchObjective::save_weights(const std::string& dir) const {
  io::StateDict tower, head;
  const std::string prefix = kTowerPrefix;
  for (auto& [name, t] : module_state(*model_)) {
    if (name.rfind(prefix, 0) == 0) {
      tower[name.substr(prefix.size())] = t;  // vision_model.*, as HF's CLIPVisionModel
    } else {
      head[name] = t;
    }
  }
  const auto& config = model_->tower->config;
  save_clip_vision_folder(tower, config, clip_preprocessor_json(config.image_size), dir);
  io::save_safetensors(join_path(dir, kHeadFile), head);
}

void ScenePatchObjective::load_weights(const std::string& dir) {
  io::StateDict tower = io::load_safetensors(join_path(dir, "model.safetensors"));
  io::StateDict head = io::load_safetensors(join_path(dir, kHeadFile));
  io::StateDict all;
  for (auto& [name, t] : tower)
    if (name.find("position_ids") == std::string::npos) all[kTowerPrefix + name] = t;
  for (auto& [name, t] : head) all[name] = t;
  model::load_state_dict_strict(*model_, all, dir);
}

}  // namespace adallava::train
