#include "model/execution_plan.h"

#include <torch/torch.h>

namespace adallava::model {

std::vector<int> active_heads_per_layer(const LayerPlan& plan, int num_layers, int num_heads) {
  std::vector<int> out(num_layers, num_heads);
  for (int i = 0; i < num_layers && i < static_cast<int>(plan.size()); ++i) {
    const auto& u = plan[i];
    if (u.skip) {
      out[i] = -1;
    } else if (u.heads) {
      out[i] = static_cast<int>(u.heads->size());
    } else if (u.head_mask.defined()) {
      out[i] = static_cast<int>(u.head_mask[0].sum().item<double>());
    }
  }
  return out;
}

bool same_units(const LayerPlan& a, const LayerPlan& b) {
  if (a.empty() || b.empty()) {
    const auto& other = a.empty() ? b : a;
    for (const auto& u : other)
      if (!u.full()) return false;
    return true;
  }
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].skip != b[i].skip || a[i].heads != b[i].heads || a[i].groups != b[i].groups)
      return false;
    if (a[i].head_mask.defined() || b[i].head_mask.defined() || a[i].mlp_mask.defined() ||
        b[i].mlp_mask.defined())
      return false;  // masks are per-row training state, never grouped
  }
  return true;
}

}  // namespace adallava::model
