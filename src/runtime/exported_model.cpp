#include "runtime/exported_model.h"

#include <cmath>

#include <torch/script.h>
#include <torch/torch.h>

#include "common/error.h"

namespace adallava::runtime {

ExportedModel ExportedModel::load(const std::string& path, const ArtifactOptions& options) {
  return ExportedModel(load_artifact(path, options));
}

c10::IValue ExportedModel::call(const std::string& method, std::vector<c10::IValue> args) {
  torch::NoGradGuard no_grad;  // inference only: the artifact's tensors need no autograd
  try {
    return artifact_.module.get_method(method)(std::move(args));
  } catch (const std::exception& e) {
    fail("{}: {}: {}", artifact_.path, method, script_error_message(e));
  }
}

bool ExportedModel::adaptive() const {
  return artifact_.config.value("model_type", "") == "adallava";
}

int64_t ExportedModel::eos_token_id() const {
  return artifact_.config.value("eos_token_id", int64_t{2});
}

torch::Tensor ExportedModel::encode_image(const torch::Tensor& pixels) {
  return call("encode_image", {pixels}).toTensor();
}

int64_t ExportedModel::budget_to_units(double budget) {
  if (!(budget >= 0.0 && budget <= 1.0))
    fail("latency budget must be between 0 and 1, got {}", budget);
  if (!adaptive() && budget != 1.0)
    fail("{}: a plain LLaVA model (no AdaLLaVA scheduler) runs at budget 1.0 only, got {}",
         artifact_.path, budget);
  return call("budget_to_units", {budget}).toInt();
}

PrefillOutput ExportedModel::prefill(const std::vector<int64_t>& ids,
                                     const torch::Tensor& image_features, double budget,
                                     int64_t max_new_tokens, bool all_logits) {
  budget_to_units(budget);  // validates with a plain message
  c10::IValue features = image_features.defined() ? c10::IValue(image_features) : c10::IValue();
  auto out = call("prefill",
                  {torch::tensor(ids, torch::kInt64), features, budget, max_new_tokens, all_logits})
                 .toTuple();
  PrefillOutput p;
  p.logits = out->elements()[0].toTensor();
  p.state.cache = out->elements()[1];
  p.state.plan = out->elements()[2].toTensor();
  return p;
}

torch::Tensor ExportedModel::decode_step(int64_t token, DecodeState& state) {
  auto out = call("decode_step", {token, state.cache, state.plan}).toTuple();
  state.cache = out->elements()[1];
  return out->elements()[0].toTensor();
}

std::vector<int64_t> ExportedModel::plan_heads(const torch::Tensor& plan) {
  return call("plan_heads", {plan}).toIntVector();
}

}  // namespace adallava::runtime
