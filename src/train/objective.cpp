#include "train/objective.h"

#include <torch/torch.h>

#include "adaptive/adallava.h"
#include "common/error.h"
#include "model/loader.h"
#include "train/llava_checkpoint.h"

namespace adallava::train {

TrainingObjective::~TrainingObjective() = default;

std::string TrainingObjective::group_of(const std::string& param_name) const {
  return llava_group_of(param_name);
}

std::string llava_group_of(const std::string& name) {
  auto starts = [&](const char* prefix) { return name.rfind(prefix, 0) == 0; };
  if (starts("model.vision_tower.")) return "vision_tower";
  if (starts("model.mm_projector.")) return "projector";
  return "llm";
}

LossOutput shifted_cross_entropy(const at::Tensor& logits, const at::Tensor& labels) {
  LossOutput out;
  // Zero targets: keep the graph but contribute nothing (HF would return NaN here).
  auto nothing = [&] {
    out.loss = logits.sum() * 0.0;
    return out;
  };
  const int64_t T = logits.size(1);
  if (T < 2) return nothing();
  auto predicted = logits.slice(1, 0, T - 1).reshape({-1, logits.size(2)}).to(torch::kFloat32);
  auto targets = labels.slice(1, 1, T).reshape({-1});
  const int64_t n = targets.ne(-100).sum().item<int64_t>();
  if (n == 0) return nothing();
  out.loss = torch::nn::functional::cross_entropy(
      predicted, targets,
      torch::nn::functional::CrossEntropyFuncOptions().ignore_index(-100).reduction(torch::kMean));
  out.loss_tokens = n;
  if (!torch::GradMode::is_enabled()) {
    const double hits = predicted.argmax(1).eq(targets).sum().item<double>();  // -100 never hits
    out.accuracy["token_accuracy"] = {hits, static_cast<double>(n)};
  }
  return out;
}

std::vector<std::string> TrainingObjective::accuracy_names() const {
  return {"token_accuracy"};
}

LlavaObjective::LlavaObjective(model::LlavaForCausalLM model, CheckpointAssets assets)
    : model_(std::move(model)), assets_(std::move(assets)) {}

torch::nn::Module& LlavaObjective::module() {
  return *model_;
}

LossOutput LlavaObjective::forward(const TrainBatch& batch, at::Generator& /*rng*/) {
  if (batch.samples.empty()) fail("trainer: empty micro-batch");
  std::vector<torch::Tensor> features;
  if (!batch.images.empty()) {
    auto projected = model_->encode_images(torch::stack(batch.images));  // [N, P, D]
    features = projected.unbind(0);
  }
  auto inputs = model_->prepare_inputs(batch.samples, features, model::PaddingSide::Right);
  if (!inputs.labels.defined()) fail("trainer: micro-batch samples carry no labels");
  auto hidden = model_->decode(inputs.embeds, inputs.attention_mask, inputs.position_ids, nullptr);
  LossOutput out = shifted_cross_entropy(model_->logits(hidden), inputs.labels);
  for (int64_t n : inputs.lengths) out.input_tokens += n;
  return out;
}

void LlavaObjective::save_weights(const std::string& dir) const {
  save_llava_weights(model_, assets_, dir);
}

void LlavaObjective::load_weights(const std::string& dir) {
  // Through load_llava, so a checkpoint is read (and checked) exactly as generate reads it.
  model::LoadedLlava loaded = adaptive::load_adallava(dir);
  io::StateDict state = module_state(*loaded.model);
  model::load_state_dict_strict(*model_, state, dir);
}

}  // namespace adallava::train
