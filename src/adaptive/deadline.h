// Deadline mode: a wall-clock deadline per request becomes the largest latency budget whose
// predicted time fits, and measured times correct the prediction online, so contention from
// other programs is absorbed by running fewer units.
//
// The deadline covers the whole answer as a user waits for it: the vision tower, the prefill
// and max_new_tokens decode steps (an answer that stops at EOS finishes earlier). See
// docs/deadline.md for the correction rule and the experiment.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "adaptive/budget.h"
#include "adaptive/latency_model.h"

namespace adallava::model {
struct GenerationResult;
struct LlavaForCausalLMImpl;
}  // namespace adallava::model

namespace adallava::adaptive {

struct DeadlineOptions {
  // Plan for this fraction of the deadline only, so ordinary run-to-run noise does not miss it.
  double headroom = 0.05;
  bool online_correction = true;  // false: the factor stays at initial_slowdown
  // Start-up factor: 1 trusts the calibration; callers that time a reference request on the
  // idle machine pass its measured / predicted ratio.
  double initial_slowdown = 1.0;
  // Weight of a faster observation when the slowdown relaxes (slower ones are taken at once).
  double relax_weight = 0.5;
  int window = 3;  // recent ratios whose median bounds a relaxation from below
  // Ratios outside [min_ratio, max_ratio] are clamped: a suspended process or a clock jump must
  // not pin the model at the lowest budget for long.
  double min_ratio = 0.2, max_ratio = 20.0;
};

// One served request, as reported per request.
struct DeadlineRecord {
  double deadline_ms = 0;
  double budget = 1;
  double predicted_ms = 0;  // at choice time: slowdown * model, for the worst-case plan
  double measured_ms = 0;
  bool met = false;
  bool feasible = true;        // false: even the lowest budget was predicted to miss
  double slowdown_before = 1;  // the factor used for the choice
  double ratio = 0;            // measured / model prediction for the plan actually run
};

class DeadlineController {
 public:
  // `spec` null = plain LLaVA: only budget 1.0 exists (the controller still reports).
  DeadlineController(LatencyModel model, std::optional<UnitSpec> spec,
                     DeadlineOptions options = {});

  // The budget to run the next request with. prompt_positions: LLM positions of the prompt
  // after splicing image features, without the latency token (added here for AdaLLaVA);
  // images: how many pass through the vision tower in this request.
  double choose_budget(double deadline_ms, int64_t prompt_positions, int max_new_tokens,
                       int images = 0);

  // The result of the request served with the last chosen budget. measured_ms: wall-clock
  // time of the request when the caller timed it (default: image + prefill + decode of the
  // result). Updates the slowdown factor and appends a record.
  const DeadlineRecord& observe(const model::GenerationResult& result,
                                std::optional<double> measured_ms = std::nullopt, int images = -1);
  // The same from the numbers alone (plan as active heads per layer).
  const DeadlineRecord& observe(const std::vector<int>& plan, int64_t llm_prompt_positions,
                                int64_t new_tokens, double measured_ms, int images = -1);

  // Predicted wall-clock time of a budget with the current slowdown (worst-case plan).
  double predict_ms(double budget, int64_t prompt_positions, int max_new_tokens,
                    int images = 0) const;
  double slowdown() const { return slowdown_; }
  const std::vector<DeadlineRecord>& records() const { return records_; }
  double share_met() const;  // over records(); 0 when there are none
  // The budget levels served, ascending (exactly the unit counts 0..N_s).
  const std::vector<double>& levels() const { return levels_; }
  const LatencyModel& latency_model() const { return model_; }

  // The factor update alone (exposed for tests): slower ratios are taken at once, faster ones
  // by an EWMA bounded below by the median of the last `window` ratios.
  void update_slowdown(double ratio);

 private:
  std::vector<int> plan_for_level(size_t level) const;

  LatencyModel model_;
  std::optional<UnitSpec> spec_;
  DeadlineOptions options_;
  std::vector<double> levels_;
  double slowdown_ = 1.0;
  std::deque<double> recent_;
  std::vector<DeadlineRecord> records_;
  std::optional<DeadlineRecord> pending_;
  int pending_images_ = 0;
};

// --- What the commands with --deadline-ms share (generate, eval) ---------------------------

// Deadlines from text ("40" or "40,80,160"), each a positive finite number of milliseconds;
// errors name `option`. Used before any model loads, so a typo costs no load time.
std::vector<double> parse_deadlines_ms(const std::string& text, const std::string& option);

// Reads a latency file and checks it against the checkpoint's config.json and the compute
// dtype, without loading weights: a profile of another model fails before the slow load.
LatencyModel load_latency_model_for_checkpoint(const std::string& file,
                                               const std::string& model_dir,
                                               const std::string& dtype);

// The latency model for a loaded model: `file` when given (checked against the model), else a
// calibration of this machine now (logged, since it takes a while on large models).
// time_vision: also time the vision tower (requests will carry images).
LatencyModel latency_model_for(model::LlavaForCausalLMImpl& model, const std::string& file,
                               bool time_vision);

// A controller for a loaded model: its unit spec (none for plain LLaVA) and `latency`.
DeadlineController make_deadline_controller(model::LlavaForCausalLMImpl& model,
                                            LatencyModel latency);

// choose_budget for one request given as the prompt ids the model will see: image placeholders
// count as the vision tower's patches (and as images for the vision cost).
double choose_budget_for_prompt(DeadlineController& controller,
                                const model::LlavaForCausalLMImpl& model,
                                const std::vector<int64_t>& prompt_ids, double deadline_ms,
                                int max_new_tokens);

}  // namespace adallava::adaptive
