#include "adaptive/scheduler.h"

#include <cmath>

#include <torch/torch.h>

namespace adallava::adaptive {

torch::Tensor latency_features(const torch::Tensor& q) {
  auto q32 = q.to(torch::kFloat32);
  auto scaled = q32 * 2 * M_PI;
  auto exponents = torch::arange(128, torch::kInt64).to(torch::kFloat32) / 128;
  auto frequencies = 1 / torch::pow(10000, exponents);
  auto angles = scaled.unsqueeze(1) * frequencies;
  return torch::cat({torch::sin(angles), torch::cos(angles)}, 1);
}

LatencyEncoderImpl::LatencyEncoderImpl(int64_t hidden) {
  net = register_module(
      "net", torch::nn::Sequential(
                 torch::nn::LayerNorm(torch::nn::LayerNormOptions({kLatencyFeatures}).eps(1e-5)),
                 torch::nn::Linear(kLatencyFeatures, hidden), torch::nn::GELU(),
                 torch::nn::Linear(hidden, hidden)));
}

torch::Tensor LatencyEncoderImpl::forward(const torch::Tensor& features) {
  return net->forward(features);
}

SchedulerImpl::SchedulerImpl(const UnitSpec& spec_, int64_t hidden) : spec(spec_) {
  spec.validate();
  scheduler_up_proj = register_module("scheduler_up_proj", LatencyEncoder(hidden));
  mlp_head = register_module("mlp_head", torch::nn::Linear(hidden, spec.scheduler_outputs()));
}

torch::Tensor SchedulerImpl::latency_token(const std::vector<int64_t>& k) {
  std::vector<double> q;
  for (auto units : k) q.push_back(encoder_value(units, spec));
  auto features = latency_features(torch::tensor(q, torch::kFloat64));
  const auto dtype = mlp_head->weight.scalar_type();
  return scheduler_up_proj(features.to(dtype));
}

torch::Tensor SchedulerImpl::logits(const torch::Tensor& token_state) {
  auto out = mlp_head(token_state.to(mlp_head->weight.scalar_type()));
  if (spec.variant == Variant::H)
    out = out.view({out.size(0), spec.num_layers - spec.num_prefix_layers, 2 * spec.num_heads});
  return out;
}

void SchedulerImpl::reset_parameters(double std, torch::Generator* generator) {
  torch::NoGradGuard no_grad;
  for (auto& module : modules(/*include_self=*/false)) {
    if (auto* linear = module->as<torch::nn::Linear>()) {
      if (generator)
        linear->weight.normal_(0.0, std, *generator);
      else
        linear->weight.normal_(0.0, std);
      linear->bias.zero_();
    } else if (auto* norm = module->as<torch::nn::LayerNorm>()) {
      norm->weight.fill_(1.0);
      norm->bias.zero_();
    }
  }
}

}  // namespace adallava::adaptive
