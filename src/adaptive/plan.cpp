#include "adaptive/plan.h"

#include <torch/torch.h>

namespace adallava::adaptive {

torch::Tensor execution_plan(const torch::Tensor& sampled, const UnitSpec& spec) {
  const int64_t H = spec.num_heads, upper = spec.num_layers - spec.num_prefix_layers;
  torch::Tensor scheduled;
  if (spec.variant == Variant::L) {
    // One switch per layer drives its heads and MLP groups alike.
    scheduled = sampled.view({upper, 1, 1}).expand({upper, 2, H});
  } else {
    scheduled = sampled.view({upper, 2, H});
  }
  auto prefix = torch::ones({spec.num_prefix_layers, 2, H}, sampled.options());
  return torch::cat({prefix, scheduled}, 0);
}

model::LayerPlan inference_plan(const torch::Tensor& plan) {
  auto on = plan.detach().to(torch::kFloat32).gt(0.5).to(torch::kCPU);
  const int64_t L = on.size(0), H = on.size(2);
  model::LayerPlan out(L);
  auto acc = on.accessor<bool, 3>();
  for (int64_t l = 0; l < L; ++l) {
    std::vector<int64_t> heads, groups;
    for (int64_t h = 0; h < H; ++h) {
      if (acc[l][0][h]) heads.push_back(h);
      if (acc[l][1][h]) groups.push_back(h);
    }
    auto& u = out[l];
    if (heads.empty() && groups.empty()) {
      u.skip = true;
    } else {
      if (static_cast<int64_t>(heads.size()) != H) u.heads = heads;
      if (static_cast<int64_t>(groups.size()) != H) u.groups = groups;
    }
  }
  return out;
}

model::LayerPlan training_plan(const torch::Tensor& plans, int64_t num_prefix_layers) {
  const int64_t L = plans.size(1);
  model::LayerPlan out(L);
  for (int64_t l = num_prefix_layers; l < L; ++l) {
    auto layer = plans.select(1, l);  // [B, 2, H]
    out[l].head_mask = layer.select(1, 0);
    out[l].mlp_mask = layer.select(1, 1);
  }
  return out;
}

std::vector<std::pair<int, int>> active_units(const torch::Tensor& plan) {
  auto sums = plan.detach().to(torch::kFloat32).gt(0.5).sum(2).to(torch::kCPU);  // [L, 2]
  std::vector<std::pair<int, int>> out;
  for (int64_t l = 0; l < sums.size(0); ++l)
    out.emplace_back(sums[l][0].item<int>(), sums[l][1].item<int>());
  return out;
}

}  // namespace adallava::adaptive
