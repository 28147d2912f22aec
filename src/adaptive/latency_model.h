// A latency model of one model on one machine: what a request costs in wall-clock time as a
// function of its prompt length, its execution plan and its answer length. Deadline mode
// (deadline.h) inverts it to pick a budget.
//
// Every cost is split into the parts an AdaLLaVA plan switches:
//   base   - everything outside the decoder layers (embedding, final norm, lm_head on the last
//            position, latency token and scheduler head),
//   layer  - one stock decoder layer (prefix layers, L units, H layers with every unit on),
//   sliced - one H layer running u of its units: layer_fixed + u * unit,
// each a polynomial in the sequence length: prefill terms are a + b*P + c*P^2 of the prompt
// positions P (projections grow with P, attention scores with P^2), decode terms are
// a + b*S per generated token of the context S it attends to. The vision tower is a constant
// per image. The JSON layout is documented in docs/deadline.md.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "adaptive/budget.h"

namespace adallava::model {
struct LlavaForCausalLMImpl;
}

namespace adallava::adaptive {

// c[0] + c[1] * x + c[2] * x^2 (decode terms keep c[2] = 0).
struct Polynomial {
  std::array<double, 3> c{0, 0, 0};
  double operator()(double x) const { return c[0] + x * (c[1] + x * c[2]); }
  // Sum over x = first .. first + count - 1, in closed form.
  double sum(double first, int64_t count) const;
};

// Least-squares fit of a polynomial of `degree` (0..2) to (x, y) samples; the degree drops to
// what the number of distinct x supports. Exact (to rounding) when y is such a polynomial.
Polynomial fit_polynomial(const std::vector<double>& x, const std::vector<double>& y, int degree);

// Costs of one part of the model (ms).
struct PartCost {
  Polynomial prefill;  // whole prompt, as a function of P
  Polynomial decode;   // one generated token, as a function of its context S
};

// The shape of the model a profile was measured on; a profile only applies to the same shape.
struct ProfiledModel {
  int64_t num_layers = 0, hidden_size = 0, num_heads = 0, intermediate_size = 0;
  int64_t units_per_layer = 1;  // H units per layer (H / r); 1 when layers are all-or-nothing
  std::string dtype;            // "fp32" / "bf16"
};

struct LatencyModel {
  ProfiledModel shape;
  int threads = 0;
  PartCost base, layer, layer_fixed, unit;
  double image_ms = 0;  // vision tower + projector per image (0 = not calibrated)
  std::string source;   // where it came from (file path or "start-up calibration"), for errors

  // The plan as GenerationResult::plan reports it (active heads per layer, -1 = skipped).
  // prompt_positions: LLM positions prefilled (latency token included); new_tokens: answer
  // length (the first token comes from the prefill, each further one is a decode step).
  double prefill_ms(const std::vector<int>& active_heads, int64_t prompt_positions) const;
  double decode_ms(const std::vector<int>& active_heads, int64_t prompt_positions,
                   int64_t new_tokens) const;
  double request_ms(const std::vector<int>& active_heads, int64_t prompt_positions,
                    int64_t new_tokens, int images) const;

  // The plan a budget may produce before the scheduler has chosen it: prefix layers full,
  // then for L the k scheduled layers full; for H the k units spread one per layer over as
  // many layers as possible (the costliest placement when layer_fixed > 0).
  std::vector<int> worst_case_plan(int64_t k, const UnitSpec& spec) const;

  // Throws naming `what` when the profile was taken on a differently shaped model.
  void check_applies_to(const ProfiledModel& model_shape, const std::string& what) const;
};

nlohmann::json to_json(const LatencyModel& model);
// Errors name `source` (the file) and the offending field.
LatencyModel latency_model_from_json(const nlohmann::json& j, const std::string& source);
LatencyModel load_latency_model(const std::string& path);
void save_latency_model(const LatencyModel& model, const std::string& path);

// --- Calibration: timing real forward passes of a model on this machine ------------------

struct CalibrationOptions {
  std::vector<int64_t> prompt_lengths = {64, 256, 640};  // P sampled for the fits
  int repeats = 3;       // the minimum of the repeats is kept (least disturbed run)
  int decode_steps = 4;  // timed single-token steps per length
  bool vision = false;   // also time one image through the vision tower
  uint64_t seed = 0;
};

// Units per layer a profile distinguishes: H / r for H (sliced layers), 1 otherwise.
int64_t profiled_units_per_layer(const UnitSpec* spec);
ProfiledModel profiled_shape(const model::LlavaForCausalLMImpl& model, int64_t units_per_layer);

// Times the parts of `model` (weights are used as they are; inputs are random) and fits the
// polynomials. `spec` gives the H unit size; without one (plain LLaVA or L), sliced terms stay 0.
LatencyModel calibrate(model::LlavaForCausalLMImpl& model, const UnitSpec* spec,
                       const CalibrationOptions& options = {});

}  // namespace adallava::adaptive
