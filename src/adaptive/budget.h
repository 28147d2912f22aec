// Latency budget -> number of switchable units, as integers.
//
// The official code floors N_total * b in the model's float dtype, which disagrees with exact
// arithmetic for some configurations (13B-H in bfloat16); we compute floor exactly on the
// budget's decimal value as a double, which equals the official float32 results on every
// budget of ../shared/golden/adallava/quantization_table.json (see docs/adaptive.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace adallava::adaptive {

enum class Variant { L, H };

Variant parse_variant(const std::string& name);  // "L" or "H"
const char* variant_name(Variant v);

// The unit bookkeeping of one AdaLLaVA configuration.
struct UnitSpec {
  Variant variant = Variant::L;
  int64_t num_layers = 0;         // L
  int64_t num_prefix_layers = 0;  // N_pre: always executed
  int64_t num_heads = 0;          // H (MLP neuron groups = heads)
  int64_t scheduler_rank = 8;     // r: heads (and MLP groups) switched together, H only

  int64_t units_per_layer() const;    // 1 for L, H / r for H
  int64_t total_units() const;        // N_total
  int64_t prefix_units() const;       // N_prefix
  int64_t switchable_units() const;   // N_s
  int64_t scheduler_outputs() const;  // mlp_head width: N_s (L) or (L - N_pre) * 2H (H)
  void validate() const;              // throws on inconsistent values
};

// k(b) = max(0, floor(N_total * b) - N_prefix); throws for b outside [0, 1] or NaN.
int64_t units_for_budget(double budget, const UnitSpec& spec);
// q = k / (N_s + 1): the value the latency encoder embeds.
double encoder_value(int64_t k, const UnitSpec& spec);
// Budget that selects exactly k units: (N_prefix + k) / N_total (the training levels).
double budget_for_units(int64_t k, const UnitSpec& spec);
// Budget from text ("0.6"), with the error naming `what` (e.g. "--budget").
double parse_budget(const std::string& text, const std::string& what);

}  // namespace adallava::adaptive
