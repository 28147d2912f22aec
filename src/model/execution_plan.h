// Execution plans: which units of each decoder layer run for a request. The model executes
// them (llama.h LayerUnits); AdaLLaVA decides them (src/adaptive implements PlanScheduler).
#pragma once

#include <vector>

#include "model/llama.h"

namespace adallava::model {

// One request's plan: LayerUnits per layer. Empty = every unit of every layer.
using LayerPlan = std::vector<LayerUnits>;

// The official report of a plan: active heads per layer, -1 for a skipped layer.
std::vector<int> active_heads_per_layer(const LayerPlan& plan, int num_layers, int num_heads);
// Plans that run exactly the same units (requests that can share one batch).
bool same_units(const LayerPlan& a, const LayerPlan& b);

// What a latency-budgeted model plugs into generation.
class PlanScheduler {
 public:
  virtual ~PlanScheduler() = default;
  // Rejects budgets the scheduler cannot serve, naming the problem.
  virtual void check_budget(double budget) const = 0;
  // One extra prompt token per request (the latency token), [B, D] in the LLM dtype.
  virtual torch::Tensor latency_tokens(const std::vector<double>& budgets) = 0;
  // The layer whose input residual stream the scheduler reads (N_pre).
  virtual int decision_layer() const = 0;
  // Deterministic plans from the latency token's residual state [B, D] entering decision_layer.
  virtual std::vector<LayerPlan> plans(const torch::Tensor& token_states,
                                       const std::vector<double>& budgets) = 0;
};

}  // namespace adallava::model
