// Execution plans in the official tensor layout and as what the model executes.
#pragma once

#include <vector>

#include "adaptive/budget.h"
#include "model/execution_plan.h"

namespace adallava::adaptive {

// One sample's sampler output ([N_s] for L, [L - N_pre, 2H] for H) -> the official plan
// [L, 2, H]: prefix layers all ones, [:, 0] head masks, [:, 1] MLP-group masks. Gradients of the
// straight-through sampler output flow through.
torch::Tensor execution_plan(const torch::Tensor& sampled, const UnitSpec& spec);

// A 0/1 plan [L, 2, H] -> what inference executes: whole-off layers skipped, whole-on layers
// stock, anything else sliced to its active heads and MLP groups.
model::LayerPlan inference_plan(const torch::Tensor& plan);

// Plans [B, L, 2, H] -> masks multiplied into every scheduled layer (training: nothing is
// skipped, so the straight-through gradient reaches every unit).
model::LayerPlan training_plan(const torch::Tensor& plans, int64_t num_prefix_layers);

// Active units per layer of a plan [L, 2, H] (heads, MLP groups), for reports and checks.
std::vector<std::pair<int, int>> active_units(const torch::Tensor& plan);

}  // namespace adallava::adaptive
