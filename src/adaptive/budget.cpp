#include "adaptive/budget.h"

#include <cmath>

#include "common/error.h"

namespace adallava::adaptive {

Variant parse_variant(const std::string& name) {
  if (name == "L") return Variant::L;
  if (name == "H") return Variant::H;
  fail("unknown AdaLLaVA scheduler_type '{}' (expected \"L\" or \"H\")", name);
}

const char* variant_name(Variant v) {
  return v == Variant::L ? "L" : "H";
}

int64_t UnitSpec::units_per_layer() const {
  return variant == Variant::L ? 1 : num_heads / scheduler_rank;
}
int64_t UnitSpec::total_units() const {
  return num_layers * units_per_layer();
}
int64_t UnitSpec::prefix_units() const {
  return num_prefix_layers * units_per_layer();
}
int64_t UnitSpec::switchable_units() const {
  return total_units() - prefix_units();
}
int64_t UnitSpec::scheduler_outputs() const {
  return variant == Variant::L ? switchable_units()
                               : (num_layers - num_prefix_layers) * 2 * num_heads;
}

void UnitSpec::validate() const {
  if (num_layers <= 0) fail("AdaLLaVA: num_hidden_layers must be positive, got {}", num_layers);
  if (num_prefix_layers < 0 || num_prefix_layers >= num_layers)
    fail("AdaLLaVA: num_prefix_layers must be in [0, {}), got {}", num_layers, num_prefix_layers);
  if (variant == Variant::H) {
    if (scheduler_rank <= 0 || num_heads % scheduler_rank != 0)
      fail("AdaLLaVA-H: scheduler_rank {} must divide num_attention_heads {}", scheduler_rank,
           num_heads);
  }
}

int64_t units_for_budget(double budget, const UnitSpec& spec) {
  if (!(budget >= 0.0 && budget <= 1.0))
    fail("latency budget must be between 0 and 1, got {}", budget);
  const int64_t total = spec.total_units();
  // floor(total * b) on the decimal budget: nudge by a relative epsilon so that budgets
  // written as k/total in decimal (0.6 * 5 = 2.9999999999999996) land on k, as float32 does.
  const double product = static_cast<double>(total) * budget;
  int64_t executed = static_cast<int64_t>(std::floor(product * (1.0 + 1e-12)));
  if (executed > total) executed = total;
  return std::max<int64_t>(0, executed - spec.prefix_units());
}

double encoder_value(int64_t k, const UnitSpec& spec) {
  return static_cast<double>(k) / static_cast<double>(spec.switchable_units() + 1);
}

double budget_for_units(int64_t k, const UnitSpec& spec) {
  return static_cast<double>(spec.prefix_units() + k) / static_cast<double>(spec.total_units());
}

double parse_budget(const std::string& text, const std::string& what) {
  size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    fail("{}: '{}' is not a number", what, text);
  }
  if (used != text.size()) fail("{}: '{}' is not a number", what, text);
  if (!(value >= 0.0 && value <= 1.0))
    fail("{}: latency budget must be between 0 and 1, got {}", what, text);
  return value;
}

}  // namespace adallava::adaptive
