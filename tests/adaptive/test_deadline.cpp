// Deadline controller on a synthetic latency model (no timing): it picks the largest budget
// level that fits, and the online correction raises predictions after slow requests and lowers
// them again after fast ones.
#include <catch2/catch.hpp>

#include "adaptive/deadline.h"
#include "common/error.h"
#include "model/generation.h"

using namespace adallava;
using namespace adallava::adaptive;

namespace {

// Costs independent of length, so predictions are easy to state: base 10 ms, 100 ms per full
// layer; an H layer costs 4 + 24 ms per unit; decode steps 1 ms base + 5 ms per layer.
LatencyModel flat_model(int64_t units_per_layer) {
  LatencyModel m;
  m.shape = {8, 4096, 32, 11008, units_per_layer, "fp32"};
  m.source = "<flat>";
  m.base.prefill.c = {10, 0, 0};
  m.base.decode.c = {1, 0, 0};
  m.layer.prefill.c = {100, 0, 0};
  m.layer.decode.c = {5, 0, 0};
  if (units_per_layer > 1) {
    m.layer_fixed.prefill.c = {4, 0, 0};
    m.unit.prefill.c = {24, 0, 0};
  }
  return m;
}

UnitSpec spec_of(Variant v) {
  UnitSpec s;
  s.variant = v;
  s.num_layers = 8;
  s.num_prefix_layers = 4;
  s.num_heads = 32;
  s.scheduler_rank = 8;
  return s;
}

DeadlineOptions no_headroom() {
  DeadlineOptions o;
  o.headroom = 0;
  return o;
}

// Prompt-only requests (1 new token: no decode step) so predictions are prefill only.
constexpr int64_t kPrompt = 100;
constexpr int kTokens = 1;

}  // namespace

TEST_CASE("L: the largest level whose prediction fits is chosen") {
  DeadlineController c(flat_model(1), spec_of(Variant::L), no_headroom());
  REQUIRE(c.levels() == std::vector<double>{0.5, 0.625, 0.75, 0.875, 1.0});
  // Level k costs 10 + (4 + k) * 100.
  CHECK(c.predict_ms(0.75, kPrompt, kTokens) == Approx(610));
  CHECK(c.choose_budget(700, kPrompt, kTokens) == 0.75);
  CHECK(c.choose_budget(610, kPrompt, kTokens) == 0.75);  // exactly fitting is fitting
  CHECK(c.choose_budget(609.9, kPrompt, kTokens) == 0.625);
  CHECK(c.choose_budget(5000, kPrompt, kTokens) == 1.0);
  // Nothing fits: the cheapest level, marked infeasible.
  CHECK(c.choose_budget(100, kPrompt, kTokens) == 0.5);
  const auto& r = c.observe({32, 32, 32, 32, -1, -1, -1, -1}, kPrompt + 1, kTokens, 400);
  CHECK_FALSE(r.feasible);
  CHECK_FALSE(r.met);
  CHECK(r.predicted_ms == Approx(410));
}

TEST_CASE("every deadline gets the largest fitting level, with headroom") {
  DeadlineOptions o;
  o.headroom = 0.1;
  DeadlineController c(flat_model(4), spec_of(Variant::H), o);
  REQUIRE(c.levels().size() == 17);
  for (double deadline = 300; deadline <= 1200; deadline += 7) {
    const double b = c.choose_budget(deadline, kPrompt, 3);
    const double target = 0.9 * deadline;
    const auto& levels = c.levels();
    const size_t i = std::find(levels.begin(), levels.end(), b) - levels.begin();
    REQUIRE(i < levels.size());
    if (c.predict_ms(b, kPrompt, 3) <= target) {
      if (i + 1 < levels.size()) CHECK(c.predict_ms(levels[i + 1], kPrompt, 3) > target);
    } else {
      CHECK(i == 0);  // infeasible: only the cheapest level may exceed the target
    }
  }
}

TEST_CASE("H predictions use the worst-case spread of units") {
  DeadlineController c(flat_model(4), spec_of(Variant::H), no_headroom());
  // 5 units over 4 layers: 16, 8, 8, 8 heads = 4 sliced layers (4 + 24 u each) + 4 prefix.
  const double b = budget_for_units(5, spec_of(Variant::H));
  CHECK(c.predict_ms(b, kPrompt, kTokens) == Approx(10 + 400 + 4 * 4 + 5 * 24));
}

TEST_CASE("the correction raises predictions after slow requests and lowers them after fast") {
  DeadlineController c(flat_model(1), spec_of(Variant::L), no_headroom());
  const std::vector<int> six_layers = {32, 32, 32, 32, 32, 32, -1, -1};  // model: 610 ms
  const double deadline = 650;
  REQUIRE(c.choose_budget(deadline, kPrompt, kTokens) == 0.75);
  const double idle_prediction = c.predict_ms(0.75, kPrompt, kTokens);

  // Contention: the request takes twice the model's time.
  auto r = c.observe(six_layers, kPrompt + 1, kTokens, 1220);
  CHECK_FALSE(r.met);
  CHECK(r.ratio == Approx(2.0));
  CHECK(c.slowdown() == Approx(2.0));  // taken at once
  CHECK(c.predict_ms(0.75, kPrompt, kTokens) == Approx(2 * idle_prediction));
  // Only the prefix-only level (410 ms model) could fit 650 ms at 2x: none does -> cheapest.
  CHECK(c.choose_budget(deadline, kPrompt, kTokens) == 0.5);
  c.observe({32, 32, 32, 32, -1, -1, -1, -1}, kPrompt + 1, kTokens, 2 * 410);
  CHECK(c.slowdown() == Approx(2.0));

  // One fast outlier does not drop the factor (median of the last three is still 2).
  c.choose_budget(deadline, kPrompt, kTokens);
  c.observe({32, 32, 32, 32, -1, -1, -1, -1}, kPrompt + 1, kTokens, 410);
  CHECK(c.slowdown() == Approx(2.0));
  // Contention over: further fast requests relax it step by step towards 1.
  double previous = c.slowdown();
  for (int i = 0; i < 12; ++i) {
    c.choose_budget(deadline, kPrompt, kTokens);
    c.observe({32, 32, 32, 32, -1, -1, -1, -1}, kPrompt + 1, kTokens, 410);
    CHECK(c.slowdown() <= previous);
    previous = c.slowdown();
  }
  CHECK(c.slowdown() == Approx(1.0).epsilon(1e-3));
  CHECK(c.choose_budget(deadline, kPrompt, kTokens) == 0.75);
  c.observe(six_layers, kPrompt + 1, kTokens, 600);
  CHECK(c.records().back().met);
  CHECK(c.records().size() == 16);
  CHECK(c.share_met() == Approx(14.0 / 16.0));  // the two slow requests missed
}

TEST_CASE("without the correction the calibrated model is kept") {
  DeadlineOptions o = no_headroom();
  o.online_correction = false;
  DeadlineController c(flat_model(1), spec_of(Variant::L), o);
  c.choose_budget(650, kPrompt, kTokens);
  const auto& r = c.observe({32, 32, 32, 32, 32, 32, -1, -1}, kPrompt + 1, kTokens, 1220);
  CHECK(r.ratio == Approx(2.0));
  CHECK(c.slowdown() == 1.0);
  CHECK(c.choose_budget(650, kPrompt, kTokens) == 0.75);
}

TEST_CASE("an initial slowdown scales predictions from the start and is kept when fixed") {
  DeadlineOptions o = no_headroom();
  o.initial_slowdown = 0.5;
  o.online_correction = false;
  DeadlineController c(flat_model(1), spec_of(Variant::L), o);
  CHECK(c.predict_ms(1.0, kPrompt, kTokens) == Approx(0.5 * 810));
  CHECK(c.choose_budget(410, kPrompt, kTokens) == 1.0);  // 405 ms predicted
  c.observe({32, 32, 32, 32, 32, 32, 32, 32}, kPrompt + 1, kTokens, 2000);
  CHECK(c.slowdown() == 0.5);
  o.initial_slowdown = 0;
  CHECK_THROWS_AS(DeadlineController(flat_model(1), spec_of(Variant::L), o), Error);
}

TEST_CASE("observe reads a GenerationResult: plan, positions, tokens and stage times") {
  DeadlineController c(flat_model(1), spec_of(Variant::L), no_headroom());
  c.choose_budget(1000, kPrompt, 3);
  model::GenerationResult result;
  result.plan = {32, 32, 32, 32, 32, -1, -1, -1};
  result.prompt_positions = kPrompt + 1;  // latency token included, as generate reports it
  result.tokens = {5, 6, 7};
  result.prefill_ms = 700;
  result.decode_ms = 50;
  const auto& r = c.observe(result);
  // Model: prefill 10 + 5 * 100, two decode steps of 1 + 5 * 5.
  CHECK(r.measured_ms == 750);
  CHECK(r.ratio == Approx(750.0 / (510 + 2 * 26)));
  CHECK(r.met);
  CHECK(c.records().size() == 1);
}

TEST_CASE("deadline controller errors") {
  DeadlineController c(flat_model(1), spec_of(Variant::L));
  CHECK_THROWS_WITH(c.observe({32}, 10, 1, 5.0), Catch::Contains("without a preceding"));
  CHECK_THROWS_AS(c.choose_budget(0, kPrompt, kTokens), Error);
  CHECK_THROWS_AS(c.choose_budget(-5, kPrompt, kTokens), Error);
  DeadlineOptions bad;
  bad.headroom = 1.0;
  CHECK_THROWS_AS(DeadlineController(flat_model(1), spec_of(Variant::L), bad), Error);
  auto other = spec_of(Variant::L);
  other.num_layers = 16;
  other.num_prefix_layers = 8;
  CHECK_THROWS_WITH(DeadlineController(flat_model(1), other), Catch::Contains("<flat>"));
  // Plain LLaVA: one level, 1.0.
  DeadlineController plain(flat_model(1), std::nullopt);
  CHECK(plain.levels() == std::vector<double>{1.0});
  CHECK(plain.choose_budget(1, kPrompt, kTokens) == 1.0);
}
