// AdaLLaVA's latency encoder and scheduler head, with the official module names so that
// checkpoints map one to one: scheduler.scheduler_up_proj.net.{0,1,3}.*, scheduler.mlp_head.*.
#pragma once

#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>

#include "adaptive/budget.h"

namespace adallava::adaptive {

constexpr int64_t kLatencyFeatures = 256;  // 128 sine + 128 cosine features

// [B] normalised unit counts q -> [B, 256] features [sin(2*pi*q*w), cos(2*pi*q*w)],
// w_i = 10000^(-i/128), evaluated in float32 in the official order of operations.
torch::Tensor latency_features(const torch::Tensor& q);

// FeedForward(256, d, d): LayerNorm, Linear, GELU (erf), Linear, as an nn.Sequential "net".
struct LatencyEncoderImpl : torch::nn::Module {
  explicit LatencyEncoderImpl(int64_t hidden);
  torch::Tensor forward(const torch::Tensor& features);
  torch::nn::Sequential net;
};
TORCH_MODULE(LatencyEncoder);

struct SchedulerImpl : torch::nn::Module {
  SchedulerImpl(const UnitSpec& spec, int64_t hidden);
  // Latency-token embeddings [B, D] for unit counts k (float32 features, then the module's dtype).
  torch::Tensor latency_token(const std::vector<int64_t>& k);
  // Scheduler logits from the latency token's residual state [B, D]: [B, N_s] for L,
  // [B, L - N_pre, 2H] for H.
  torch::Tensor logits(const torch::Tensor& token_state);
  // HF _init_weights for a fresh scheduler: Linear N(0, std), zero bias; LayerNorm 1 / 0.
  void reset_parameters(double std, torch::Generator* generator = nullptr);

  UnitSpec spec;
  LatencyEncoder scheduler_up_proj{nullptr};
  torch::nn::Linear mlp_head{nullptr};
};
TORCH_MODULE(Scheduler);

}  // namespace adallava::adaptive
