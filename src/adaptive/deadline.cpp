#include "adaptive/deadline.h"

#include <algorithm>
#include <cmath>

#include <spdlog/spdlog.h>

#include "adaptive/adallava.h"
#include "common/error.h"
#include "common/py_text.h"
#include "model/generation.h"
#include "model/loader.h"

namespace adallava::adaptive {

DeadlineController::DeadlineController(LatencyModel model, std::optional<UnitSpec> spec,
                                       DeadlineOptions options)
    : model_(std::move(model)), spec_(std::move(spec)), options_(options) {
  if (!(options_.headroom >= 0 && options_.headroom < 1))
    fail("deadline headroom must be in [0, 1), got {}", options_.headroom);
  if (!(options_.relax_weight > 0 && options_.relax_weight <= 1))
    fail("deadline relax weight must be in (0, 1], got {}", options_.relax_weight);
  if (options_.window < 1) fail("deadline window must be >= 1, got {}", options_.window);
  if (!(options_.initial_slowdown > 0) || !std::isfinite(options_.initial_slowdown))
    fail("deadline initial slowdown must be > 0, got {}", options_.initial_slowdown);
  slowdown_ = options_.initial_slowdown;
  if (spec_) {
    spec_->validate();
    if (spec_->num_layers != model_.shape.num_layers || spec_->num_heads != model_.shape.num_heads)
      fail("{}: latency profile is for {} layers x {} heads, the model has {} x {}", model_.source,
           model_.shape.num_layers, model_.shape.num_heads, spec_->num_layers, spec_->num_heads);
    for (int64_t k = 0; k <= spec_->switchable_units(); ++k)
      levels_.push_back(budget_for_units(k, *spec_));
  } else {
    levels_.push_back(1.0);
  }
}

std::vector<int> DeadlineController::plan_for_level(size_t level) const {
  if (!spec_)
    return std::vector<int>(static_cast<size_t>(model_.shape.num_layers),
                            static_cast<int>(model_.shape.num_heads));
  return model_.worst_case_plan(static_cast<int64_t>(level), *spec_);
}

double DeadlineController::predict_ms(double budget, int64_t prompt_positions, int max_new_tokens,
                                      int images) const {
  size_t level = 0;
  if (spec_) level = static_cast<size_t>(units_for_budget(budget, *spec_));
  const int64_t positions = prompt_positions + (spec_ ? 1 : 0);
  return slowdown_ * model_.request_ms(plan_for_level(level), positions, max_new_tokens, images);
}

double DeadlineController::choose_budget(double deadline_ms, int64_t prompt_positions,
                                         int max_new_tokens, int images) {
  if (!(deadline_ms > 0) || !std::isfinite(deadline_ms))
    fail("deadline must be a positive number of milliseconds, got {}", deadline_ms);
  if (prompt_positions < 1) fail("deadline mode needs a non-empty prompt");
  const double target = deadline_ms * (1.0 - options_.headroom);
  // Levels are ascending in cost; the largest that fits wins, else the cheapest (reported as
  // infeasible: the request will probably miss however little it runs).
  size_t chosen = 0;
  bool feasible = false;
  double predicted = predict_ms(levels_[0], prompt_positions, max_new_tokens, images);
  for (size_t i = 0; i < levels_.size(); ++i) {
    const double p = predict_ms(levels_[i], prompt_positions, max_new_tokens, images);
    if (p <= target) {
      chosen = i;
      predicted = p;
      feasible = true;
    }
  }
  DeadlineRecord r;
  r.deadline_ms = deadline_ms;
  r.budget = levels_[chosen];
  r.predicted_ms = predicted;
  r.feasible = feasible;
  r.slowdown_before = slowdown_;
  pending_ = r;
  pending_images_ = images;
  return r.budget;
}

const DeadlineRecord& DeadlineController::observe(const model::GenerationResult& result,
                                                  std::optional<double> measured_ms, int images) {
  const double ms = measured_ms.value_or(result.image_ms + result.prefill_ms + result.decode_ms);
  return observe(result.plan, result.prompt_positions, static_cast<int64_t>(result.tokens.size()),
                 ms, images);
}

const DeadlineRecord& DeadlineController::observe(const std::vector<int>& plan,
                                                  int64_t llm_prompt_positions, int64_t new_tokens,
                                                  double measured_ms, int images) {
  if (!pending_) fail("deadline controller: observe() without a preceding choose_budget()");
  if (!(measured_ms >= 0) || !std::isfinite(measured_ms))
    fail("deadline controller: measured time must be >= 0 ms, got {}", measured_ms);
  DeadlineRecord r = *pending_;
  pending_.reset();
  if (images < 0) images = pending_images_;
  r.measured_ms = measured_ms;
  r.met = measured_ms <= r.deadline_ms;
  // The ratio compares like with like: the plan the scheduler actually chose and the tokens
  // actually generated, so only the machine's speed is left in it.
  const double modelled = model_.request_ms(plan, llm_prompt_positions, new_tokens, images);
  r.ratio = modelled > 0 ? measured_ms / modelled : 1.0;
  if (options_.online_correction && modelled > 0) update_slowdown(r.ratio);
  records_.push_back(r);
  return records_.back();
}

void DeadlineController::update_slowdown(double ratio) {
  ratio = std::clamp(ratio, options_.min_ratio, options_.max_ratio);
  recent_.push_back(ratio);
  while (static_cast<int>(recent_.size()) > options_.window) recent_.pop_front();
  if (ratio >= slowdown_) {
    // Contention has started (or grown): the next request already needs the slower estimate.
    slowdown_ = ratio;
    return;
  }
  std::vector<double> sorted(recent_.begin(), recent_.end());
  std::sort(sorted.begin(), sorted.end());
  const size_t n = sorted.size();
  const double median = n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
  const double ewma = (1.0 - options_.relax_weight) * slowdown_ + options_.relax_weight * ratio;
  // One fast outlier cannot pull the factor below what the recent requests typically took.
  slowdown_ = std::min(slowdown_, std::max(ewma, median));
}

double DeadlineController::share_met() const {
  if (records_.empty()) return 0;
  size_t met = 0;
  for (const auto& r : records_) met += r.met ? 1 : 0;
  return static_cast<double>(met) / static_cast<double>(records_.size());
}

std::vector<double> parse_deadlines_ms(const std::string& text, const std::string& option) {
  std::vector<double> out;
  for (const auto& raw : py::split(text, ",")) {
    const std::string piece = py::strip(raw);
    size_t used = 0;
    double value = 0;
    try {
      value = std::stod(piece, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (piece.empty() || used != piece.size())
      fail("{}: '{}' is not a number of milliseconds", option, piece);
    // stod accepts "nan" and "inf": neither is a deadline anything can be planned for.
    if (!std::isfinite(value) || !(value > 0))
      fail("{}: a deadline must be a positive, finite number of milliseconds, got '{}'", option,
           piece);
    out.push_back(value);
  }
  return out;
}

LatencyModel load_latency_model_for_checkpoint(const std::string& file,
                                               const std::string& model_dir,
                                               const std::string& dtype) {
  auto latency = load_latency_model(file);
  const auto config = model::load_llava_config(model_dir);
  const auto spec = unit_spec_from_config(config);
  ProfiledModel shape;
  shape.num_layers = config.text.num_layers;
  shape.hidden_size = config.text.hidden_size;
  shape.num_heads = config.text.num_heads;
  shape.intermediate_size = config.text.intermediate_size;
  shape.units_per_layer = profiled_units_per_layer(spec ? &*spec : nullptr);
  shape.dtype = model::compute_dtype_name(model::parse_compute_dtype(dtype, "--dtype"));
  latency.check_applies_to(shape, model_dir);
  return latency;
}

LatencyModel latency_model_for(model::LlavaForCausalLMImpl& m, const std::string& file,
                               bool time_vision) {
  auto scheduler = scheduler_of(m);
  const UnitSpec* spec = scheduler ? &scheduler->spec : nullptr;
  if (!file.empty()) {
    auto latency = load_latency_model(file);
    latency.check_applies_to(profiled_shape(m, profiled_units_per_layer(spec)), "the loaded model");
    return latency;
  }
  spdlog::info(
      "[deadline] no --latency-model: calibrating this machine (save one with `adallava "
      "calibrate` to skip this)");
  CalibrationOptions calibration;
  calibration.vision = time_vision;
  auto latency = calibrate(m, spec, calibration);
  latency.source = "start-up calibration";
  return latency;
}

DeadlineController make_deadline_controller(model::LlavaForCausalLMImpl& m, LatencyModel latency) {
  auto scheduler = scheduler_of(m);
  std::optional<UnitSpec> spec;
  if (scheduler) spec = scheduler->spec;
  return DeadlineController(std::move(latency), spec);
}

double choose_budget_for_prompt(DeadlineController& controller,
                                const model::LlavaForCausalLMImpl& m,
                                const std::vector<int64_t>& prompt_ids, double deadline_ms,
                                int max_new_tokens) {
  int images = 0;
  for (auto id : prompt_ids) images += m.is_image_token(id) ? 1 : 0;
  // Each placeholder becomes the image's patch features once spliced.
  const int64_t positions = static_cast<int64_t>(prompt_ids.size()) - images +
                            static_cast<int64_t>(images) * m.vision_config.num_patches();
  return controller.choose_budget(deadline_ms, positions, max_new_tokens, images);
}

}  // namespace adallava::adaptive
