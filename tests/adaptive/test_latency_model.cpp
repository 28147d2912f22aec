// Latency model: polynomial fits recover synthetic timings exactly, predictions follow the plan,
// the JSON format round-trips and bad files fail with the file and field named. Calibration is
// run on a tiny model for its structure only (no timing assertions).
#include <cmath>
#include <fstream>

#include <torch/torch.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "adaptive/adallava.h"
#include "adaptive/latency_model.h"
#include "common/error.h"
#include "support/paths.h"

using namespace adallava;
using namespace adallava::adaptive;

namespace {

LatencyModel synthetic_model() {
  LatencyModel m;
  m.shape = {8, 4096, 32, 11008, 4, "fp32"};
  m.threads = 2;
  m.source = "<synthetic>";
  m.base.prefill.c = {5, 0.01, 0};
  m.base.decode.c = {20, 0, 0};
  m.layer.prefill.c = {10, 2, 0.001};
  m.layer.decode.c = {100, 0.01, 0};
  m.layer_fixed.prefill.c = {4, 0.2, 0};
  m.layer_fixed.decode.c = {8, 0, 0};
  m.unit.prefill.c = {2, 0.5, 0.00025};
  m.unit.decode.c = {25, 0.0025, 0};
  m.image_ms = 300;
  return m;
}

UnitSpec spec_h() {
  UnitSpec s;
  s.variant = Variant::H;
  s.num_layers = 8;
  s.num_prefix_layers = 4;
  s.num_heads = 32;
  s.scheduler_rank = 8;
  return s;
}

std::string write_file(const std::string& dir, const std::string& name, const std::string& text) {
  const std::string path = dir + "/" + name;
  std::ofstream(path) << text;
  return path;
}

// The error message of loading `text` as a latency model file.
std::string load_error(const std::string& dir, const std::string& name, const std::string& text) {
  const auto path = write_file(dir, name, text);
  try {
    load_latency_model(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("fit_polynomial recovers quadratic and linear timings exactly") {
  const std::vector<double> x = {64, 256, 640, 1024};
  const Polynomial truth{{3.5, 0.012, 2.5e-5}};
  std::vector<double> y;
  for (double v : x) y.push_back(truth(v));
  const auto fit = fit_polynomial(x, y, 2);
  for (int i = 0; i < 3; ++i) CHECK(fit.c[i] == Approx(truth.c[i]).epsilon(1e-9));

  // Three lengths: interpolation, still exact.
  const auto fit3 = fit_polynomial({64, 256, 640}, {truth(64), truth(256), truth(640)}, 2);
  for (int i = 0; i < 3; ++i) CHECK(fit3.c[i] == Approx(truth.c[i]).epsilon(1e-9));

  const Polynomial line{{0.7, 0.003, 0}};
  const auto fit_line = fit_polynomial({65, 257, 641}, {line(65), line(257), line(641)}, 1);
  CHECK(fit_line.c[0] == Approx(0.7).epsilon(1e-12));
  CHECK(fit_line.c[1] == Approx(0.003).epsilon(1e-12));
  CHECK(fit_line.c[2] == 0);
}

TEST_CASE("fit_polynomial lowers the degree to what the samples support") {
  const auto constant = fit_polynomial({100, 100}, {4, 6}, 2);  // one distinct x: the mean
  CHECK(constant.c[0] == Approx(5));
  CHECK(constant.c[1] == 0);
  CHECK(constant.c[2] == 0);
  const auto line = fit_polynomial({1, 3}, {1, 5}, 2);  // two distinct x: a line
  CHECK(line.c[0] == Approx(-1));
  CHECK(line.c[1] == Approx(2));
  CHECK(line.c[2] == 0);
  CHECK_THROWS_AS(fit_polynomial({}, {}, 1), Error);
  CHECK_THROWS_AS(fit_polynomial({1, 2}, {1}, 1), Error);
}

TEST_CASE("Polynomial::sum equals the explicit sum") {
  const Polynomial p{{1.5, -0.25, 0.125}};
  double expected = 0;
  for (int x = 641; x < 641 + 37; ++x) expected += p(x);
  CHECK(p.sum(641, 37) == Approx(expected).epsilon(1e-12));
  CHECK(p.sum(10, 0) == 0);
}

TEST_CASE("predictions follow the plan, prompt length and answer length") {
  const auto m = synthetic_model();
  const int64_t P = 641;
  const double layer = 10 + 2.0 * P + 0.001 * P * P;
  const double base = 5 + 0.01 * P;
  const double fixed = 4 + 0.2 * P, unit = 2 + 0.5 * P + 0.00025 * P * P;
  // Four full layers, one skipped, one with 2 units (16 heads), one with 1 unit, one full.
  const std::vector<int> plan = {32, 32, 32, 32, -1, 16, 8, 32};
  CHECK(m.prefill_ms(plan, P) ==
        Approx(base + 5 * layer + (fixed + 2 * unit) + (fixed + unit)).epsilon(1e-12));

  // 3 new tokens = 2 decode steps at contexts P+1 and P+2.
  double steps = 0;
  for (int64_t S = P + 1; S <= P + 2; ++S)
    steps += 20 + 5 * (100 + 0.01 * S) + (8 + 2 * (25 + 0.0025 * S)) + (8 + (25 + 0.0025 * S));
  CHECK(m.decode_ms(plan, P, 3) == Approx(steps).epsilon(1e-12));
  CHECK(m.decode_ms(plan, P, 1) == 0);
  CHECK(m.request_ms(plan, P, 3, 2) ==
        Approx(600 + m.prefill_ms(plan, P) + m.decode_ms(plan, P, 3)).epsilon(1e-12));
}

TEST_CASE("worst-case plans: L layers in order, H units spread over layers") {
  auto m = synthetic_model();
  auto spec = spec_h();
  CHECK(m.worst_case_plan(0, spec) == std::vector<int>{32, 32, 32, 32, -1, -1, -1, -1});
  CHECK(m.worst_case_plan(3, spec) == std::vector<int>{32, 32, 32, 32, 8, 8, 8, -1});
  CHECK(m.worst_case_plan(5, spec) == std::vector<int>{32, 32, 32, 32, 16, 8, 8, 8});
  CHECK(m.worst_case_plan(16, spec) == std::vector<int>{32, 32, 32, 32, 32, 32, 32, 32});
  spec.variant = Variant::L;
  CHECK(m.worst_case_plan(2, spec) == std::vector<int>{32, 32, 32, 32, 32, 32, -1, -1});
}

TEST_CASE("latency model JSON round-trips") {
  const auto dir = test::scratch_dir("latency_model_json");
  const auto m = synthetic_model();
  const std::string path = dir + "/latency.json";
  save_latency_model(m, path);
  const auto back = load_latency_model(path);
  CHECK(back.source == path);
  CHECK(back.shape.num_layers == 8);
  CHECK(back.shape.units_per_layer == 4);
  CHECK(back.shape.dtype == "fp32");
  CHECK(back.threads == 2);
  CHECK(back.image_ms == 300);
  CHECK(back.unit.prefill.c == m.unit.prefill.c);
  CHECK(back.layer.decode.c == m.layer.decode.c);
  const std::vector<int> plan = {32, 32, 32, 32, -1, 16, 8, 32};
  CHECK(back.request_ms(plan, 300, 9, 1) == m.request_ms(plan, 300, 9, 1));
}

TEST_CASE("bad latency model files fail naming the file and the field") {
  const auto dir = test::scratch_dir("latency_model_bad");
  auto good = to_json(synthetic_model());

  CHECK_THAT(load_error(dir, "not_json.json", "{ not json"),
             Catch::Contains("not_json.json") && Catch::Contains("not valid JSON"));
  {
    auto j = good;
    j["format"] = "something-else";
    CHECK_THAT(load_error(dir, "format.json", j.dump()),
               Catch::Contains("format.json") && Catch::Contains("'format'"));
  }
  {
    auto j = good;
    j["parts"].erase("unit");
    CHECK_THAT(load_error(dir, "missing.json", j.dump()),
               Catch::Contains("missing.json") && Catch::Contains("parts.unit"));
  }
  {
    auto j = good;
    j["parts"]["layer"]["prefill_ms"] = {1, 2};
    CHECK_THAT(load_error(dir, "short.json", j.dump()),
               Catch::Contains("short.json") && Catch::Contains("parts.layer.prefill_ms") &&
                   Catch::Contains("3 numbers"));
  }
  {
    auto j = good;
    j["parts"]["base"]["decode_ms_per_token"] = {1, "x"};
    CHECK_THAT(load_error(dir, "string.json", j.dump()),
               Catch::Contains("parts.base.decode_ms_per_token[1]") &&
                   Catch::Contains("must be a number"));
  }
  {
    auto j = good;
    j["model"]["num_heads"] = 0;
    CHECK_THAT(load_error(dir, "heads.json", j.dump()),
               Catch::Contains("heads.json") && Catch::Contains("model.num_heads"));
  }
  {
    auto j = good;
    j["model"]["dtype"] = "int4";
    CHECK_THAT(load_error(dir, "dtype.json", j.dump()), Catch::Contains("model.dtype"));
  }
  {
    auto j = good;
    j["image_ms"] = -3;
    CHECK_THAT(load_error(dir, "image.json", j.dump()), Catch::Contains("image_ms"));
  }
  CHECK_THAT(load_error(dir, "array.json", "[1, 2]"), Catch::Contains("JSON object"));
  try {
    load_latency_model(dir + "/absent.json");
    FAIL("no error for a missing file");
  } catch (const Error& e) {
    CHECK_THAT(std::string(e.what()), Catch::Contains("absent.json") && Catch::Contains("open"));
  }
}

TEST_CASE("a profile refuses a differently shaped model") {
  auto m = synthetic_model();
  m.source = "lat.json";
  auto other = m.shape;
  other.dtype = "bf16";
  CHECK_THROWS_WITH(m.check_applies_to(other, "ckpt"),
                    Catch::Contains("lat.json") && Catch::Contains("dtype"));
  other = m.shape;
  other.num_layers = 32;
  CHECK_THROWS_WITH(m.check_applies_to(other, "ckpt"), Catch::Contains("num_layers"));
  CHECK_NOTHROW(m.check_applies_to(m.shape, "ckpt"));
}

TEST_CASE("calibration of a tiny H model produces a complete profile") {
  model::LlavaConfig cfg;
  cfg.text.vocab_size = 64;
  cfg.text.hidden_size = 32;
  cfg.text.intermediate_size = 64;
  cfg.text.num_layers = 4;
  cfg.text.num_heads = 8;
  cfg.text.num_kv_heads = 8;
  cfg.text.max_position_embeddings = 256;
  model::VisionConfig vision;
  vision.hidden_size = 16;
  vision.intermediate_size = 32;
  vision.num_layers = 2;
  vision.num_heads = 2;
  vision.image_size = 28;
  vision.patch_size = 14;
  cfg.mm_hidden_size = vision.hidden_size;
  cfg.config_path = "<tiny>";
  torch::manual_seed(0);
  model::LlavaForCausalLM m(cfg, vision);
  m->eval();
  UnitSpec spec;
  spec.variant = Variant::H;
  spec.num_layers = 4;
  spec.num_prefix_layers = 2;
  spec.num_heads = 8;
  spec.scheduler_rank = 2;
  attach_scheduler(*m, spec);

  CalibrationOptions o;
  o.prompt_lengths = {8, 16, 24};
  o.repeats = 1;
  o.decode_steps = 1;
  o.vision = true;
  const auto lm = calibrate(*m, &spec, o);
  CHECK(lm.shape.num_layers == 4);
  CHECK(lm.shape.num_heads == 8);
  CHECK(lm.shape.units_per_layer == 4);
  CHECK(lm.shape.dtype == "fp32");
  CHECK(lm.image_ms > 0);
  for (const auto* part : {&lm.base, &lm.layer, &lm.layer_fixed, &lm.unit}) {
    for (double c : part->prefill.c) CHECK(std::isfinite(c));
    CHECK(part->decode.c[2] == 0);
  }
  // A full layer was timed, so a full plan has a positive cost.
  CHECK(lm.prefill_ms({8, 8, 8, 8}, 16) > 0);
  // The profile survives a save/load and applies to the model it came from.
  const auto dir = test::scratch_dir("latency_model_calibrate");
  save_latency_model(lm, dir + "/lat.json");
  auto back = load_latency_model(dir + "/lat.json");
  CHECK_NOTHROW(back.check_applies_to(profiled_shape(*m, spec.units_per_layer()), "tiny"));
}
