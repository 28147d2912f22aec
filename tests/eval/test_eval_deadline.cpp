// `adallava eval --deadline-ms`: on the tiny golden AdaLLaVA-L, a deadline nothing can miss
// runs every question at budget 1.0 and meets it; a deadline nothing can meet runs the lowest
// level (the prefix layers only, the controller's fallback) and misses every time. The rows,
// the answer records and the results files carry what the controller chose, predicted and
// measured; bad deadlines and foreign latency files fail before a model loads.
#include <catch2/catch.hpp>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "adaptive/latency_model.h"
#include "common/error.h"
#include "common/files.h"
#include "eval/runner/evaluation.h"
#include "model/config.h"
#include "support/cli_run.h"
#include "support/paths.h"
#include "synth_fixture.h"

using namespace adallava;
using namespace adallava::eval;
namespace fs = std::filesystem;

namespace {

constexpr double kGenerous = 1e7;  // ms: nothing of the tiny model takes this long
constexpr double kImpossible = 1e-3;

const std::string kAdaL = "adallava/ada_L";
constexpr size_t kGqaQuestions = 12;  // the tiny suite's GQA (all of them: GQA scores no subset)

EvalConfig config_for(const std::string& name, int max_new_tokens = 3) {
  auto c = load_eval_configs(test::source_dir() + "/configs/eval/" + name + ".yaml",
                             {"data_root=" + test::tiny_synth_suite() + "/eval",
                              "max_new_tokens=" + std::to_string(max_new_tokens)});
  return c.at(0);
}

// A latency profile for `checkpoint`'s shape with made-up costs (1 ms base, 2 ms per layer,
// 0.1 ms per decode step), so the tests need no timing and the start-up calibration is skipped.
std::string write_profile(const std::string& path, const std::string& checkpoint,
                          int64_t layers_override = 0) {
  const auto config = model::load_llava_config(test::golden(checkpoint));
  adaptive::LatencyModel m;
  m.shape.num_layers = layers_override > 0 ? layers_override : config.text.num_layers;
  m.shape.hidden_size = config.text.hidden_size;
  m.shape.num_heads = config.text.num_heads;
  m.shape.intermediate_size = config.text.intermediate_size;
  m.shape.units_per_layer = 1;
  m.shape.dtype = "fp32";
  m.base.prefill.c = {1, 0, 0};
  m.layer.prefill.c = {2, 0, 0};
  m.layer.decode.c = {0.1, 0, 0};
  adaptive::save_latency_model(m, path);
  return path;
}

EvaluationRequest deadline_request(const std::string& out, const std::string& profile) {
  EvaluationRequest r;
  r.configs = {config_for("gqa")};
  r.models = {{test::golden(kAdaL), "ada_L", "", 0, profile}};
  r.vision_tower = test::golden("llava-tiny/clip_vision");
  r.budgets.clear();
  r.deadlines_ms = {kGenerous, kImpossible};
  r.batch_size = 4;  // ignored by deadline rows: one question at a time
  r.out_dir = out;
  return r;
}

std::vector<nlohmann::json> records_of(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
  return out;
}

using Run = test::CliRun;

Run run_cli(const std::string& args) {
  return test::run_adallava(args);
}

}  // namespace

TEST_CASE("a generous deadline runs budget 1.0 and is met; an impossible one runs the lowest") {
  const std::string out = test::scratch_dir("eval-deadline-runner");
  auto r = deadline_request(out, write_profile(out + "/lat.json", kAdaL));
  const auto rows = run_evaluation(r);
  REQUIRE(rows.size() == 2);

  const auto& generous = rows[0];
  REQUIRE(generous.deadline_ms == kGenerous);
  CHECK(generous.answered == kGqaQuestions);
  CHECK(generous.value.has_value());
  CHECK(generous.met_share == 1.0);
  CHECK(generous.budget == 1.0);
  CHECK(generous.budget_min == 1.0);
  CHECK(generous.budget_max == 1.0);
  CHECK(generous.infeasible == 0);
  CHECK(generous.mean_measured_ms > 0);
  CHECK(generous.mean_predicted_ms > 0);

  // ada_L: 2 prefix layers of 4, so the cheapest level is budget 0.5 (golden plan [4,4,-1,-1]).
  const auto& impossible = rows[1];
  REQUIRE(impossible.deadline_ms == kImpossible);
  CHECK(impossible.answered == kGqaQuestions);
  CHECK(impossible.met_share == 0.0);
  CHECK(impossible.budget == 0.5);
  CHECK(impossible.budget_min == 0.5);
  CHECK(impossible.budget_max == 0.5);
  CHECK(impossible.infeasible == kGqaQuestions);
  CHECK(impossible.mean_prefill_flops < generous.mean_prefill_flops);

  // Each record carries its chosen budget, the prediction and the measured time; one question
  // per batch.
  const auto low = records_of(out + "/ada_L/gqa/deadline_0.001ms/answers.jsonl");
  REQUIRE(low.size() == kGqaQuestions);
  for (const auto& rec : low) {
    INFO(rec.dump());
    CHECK(rec["budget"] == 0.5);
    CHECK(rec["plan"] == nlohmann::json({4, 4, -1, -1}));
    CHECK(rec["deadline"]["deadline_ms"] == kImpossible);
    CHECK(rec["deadline"]["predicted_ms"].get<double>() > kImpossible);
    CHECK(rec["deadline"]["measured_ms"].get<double>() > 0);
    CHECK(rec["deadline"]["met"] == false);
    CHECK(rec["deadline"]["feasible"] == false);
    CHECK(rec["timing"]["batch_size"] == 1);
  }
  const auto high = records_of(out + "/ada_L/gqa/deadline_10000000ms/answers.jsonl");
  REQUIRE(high.size() == kGqaQuestions);
  for (const auto& rec : high) {
    CHECK(rec["budget"] == 1.0);
    CHECK(rec["plan"] == nlohmann::json({4, 4, 4, 4}));
    CHECK(rec["deadline"]["met"] == true);
  }

  // results.json / csv / md: deadline rows with their own fields.
  const auto json = read_json_file(out + "/results.json");
  REQUIRE(json["results"].size() == 2);
  const auto& j = json["results"][1];
  CHECK(j["deadline_ms"] == kImpossible);
  CHECK(j["met_share"] == 0.0);
  CHECK(j["budget"] == 0.5);
  CHECK(j["budget_min"] == 0.5);
  CHECK(j["budget_max"] == 0.5);
  CHECK(j["infeasible"] == kGqaQuestions);
  CHECK(j["mean_measured_ms"].get<double>() > 0);
  CHECK(json["results"][0]["met_share"] == 1.0);
  const auto reread = rows_from_json(json, "results.json");
  CHECK(reread[1].deadline_ms == kImpossible);
  CHECK(reread[1].infeasible == kGqaQuestions);
  const std::string csv = read_text_file(out + "/results.csv");
  CHECK(csv.find(",deadline_ms,met_share,budget_min,budget_max,mean_measured_ms,") !=
        std::string::npos);
  const std::string md = read_text_file(out + "/results.md");
  CHECK(md.find("| ada_L | 0.001 ms deadline |") != std::string::npos);
  CHECK(md.find("## Deadlines") != std::string::npos);
  CHECK(md.find("| ada_L | gqa | 10000000 | ") != std::string::npos);
  CHECK(md.find("| 100.0% | 1.000 | 1.000 | 1.000 |") != std::string::npos);
  CHECK(md.find("| 0.0% | 0.500 | 0.500 | 0.500 |") != std::string::npos);
  CHECK(read_text_file(out + "/plot.svg").find("ada_L (deadlines)") != std::string::npos);

  // Resume: a second run finds every answer and keeps the file.
  const std::string before = read_text_file(out + "/ada_L/gqa/deadline_0.001ms/answers.jsonl");
  const auto again = run_evaluation(r);
  REQUIRE(again.size() == 2);
  CHECK(read_text_file(out + "/ada_L/gqa/deadline_0.001ms/answers.jsonl") == before);
  CHECK(again[1].met_share == 0.0);
}

TEST_CASE("budgets and deadlines together: budget rows, then deadline rows") {
  const std::string out = test::scratch_dir("eval-deadline-both");
  auto r = deadline_request(out, write_profile(out + "/lat.json", kAdaL));
  r.budgets = {0.5};
  r.deadlines_ms = {kGenerous};
  r.limit = 2;
  const auto rows = run_evaluation(r);
  REQUIRE(rows.size() == 2);
  CHECK_FALSE(rows[0].deadline_ms.has_value());
  CHECK(rows[0].budget == 0.5);
  CHECK(rows[1].deadline_ms == kGenerous);
  CHECK(fs::exists(out + "/ada_L/gqa/budget_0.50/answers.jsonl"));
  CHECK(fs::exists(out + "/ada_L/gqa/deadline_10000000ms/answers.jsonl"));
  const auto json = read_json_file(out + "/results.json");
  CHECK_FALSE(json["results"][0].contains("deadline_ms"));  // budget rows as before
  CHECK(json["results"][1].contains("deadline_ms"));
}

TEST_CASE("plain LLaVA in deadline mode: budget 1.0 only, the met share is still reported") {
  const std::string out = test::scratch_dir("eval-deadline-plain");
  const std::string plain = "llava-tiny/llava15_orig";
  auto r = deadline_request(out, write_profile(out + "/lat.json", plain));
  r.models = {{test::golden(plain), "plain", "", 0, out + "/lat.json"}};
  r.limit = 2;
  const auto rows = run_evaluation(r);
  REQUIRE(rows.size() == 2);
  CHECK_FALSE(rows[0].adaptive);
  CHECK(rows[0].budget == 1.0);
  CHECK(rows[0].met_share == 1.0);
  CHECK(rows[1].budget == 1.0);  // nothing cheaper exists
  CHECK(rows[1].met_share == 0.0);
  CHECK(rows[1].infeasible == 2);
}

TEST_CASE("deadline answers are not mixed with budget answers or other deadlines on resume") {
  const std::string out = test::scratch_dir("eval-deadline-foreign");
  auto r = deadline_request(out, write_profile(out + "/lat.json", kAdaL));
  r.deadlines_ms = {kGenerous};
  r.limit = 1;
  run_evaluation(r);
  // The same file under another deadline's and a budget's folder.
  const std::string answers = out + "/ada_L/gqa/deadline_10000000ms/answers.jsonl";
  for (const std::string dir : {"deadline_500ms", "budget_1.00"}) {
    fs::create_directories(out + "/ada_L/gqa/" + dir);
    fs::copy_file(answers, out + "/ada_L/gqa/" + dir + "/answers.jsonl");
  }
  r.deadlines_ms = {500};
  try {
    run_evaluation(r);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("answers.jsonl:1: answer for deadline 10000000 ms in the "
                                     "answers of deadline 500 ms") != std::string::npos);
  }
  r.deadlines_ms.clear();
  r.budgets = {1.0};
  try {
    run_evaluation(r);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("answer for deadline 10000000 ms in the answers of budget") !=
          std::string::npos);
  }
}

TEST_CASE("a latency profile of another model shape fails before any model loads") {
  const std::string out = test::scratch_dir("eval-deadline-shape");
  const auto profile = write_profile(out + "/lat8.json", kAdaL, 8);
  auto r = deadline_request(out + "/run", profile);
  try {
    run_evaluation(r);
    FAIL("no error");
  } catch (const Error& e) {
    const std::string what = e.what();
    CHECK(what.find("lat8.json") != std::string::npos);
    CHECK(what.find("num_layers = 8") != std::string::npos);
    CHECK(what.find("recalibrate") != std::string::npos);
  }
  CHECK_FALSE(fs::exists(out + "/run/ada_L"));  // nothing was answered
}

TEST_CASE("eval --deadline-ms on the command line: tables, and bad input exits 1") {
  const std::string out = test::scratch_dir("eval-deadline-cli");
  const std::string model = "--model " + test::golden(kAdaL) + " --vision-tower " +
                            test::golden("llava-tiny/clip_vision");
  const std::string config = "eval --config " + test::source_dir() +
                             "/configs/eval/gqa.yaml --data-root " + test::tiny_synth_suite() +
                             "/eval --set max_new_tokens=2 ";
  // A real calibration of this machine, as a user would save it.
  const auto cal = run_cli("calibrate -m " + test::golden(kAdaL) + " --vision-tower " +
                           test::golden("llava-tiny/clip_vision") + " -o " + out +
                           "/lat.json --lengths 16,32,64 --repeats 1 --steps 1");
  INFO(cal.output);
  REQUIRE(cal.code == 0);
  const auto ok =
      run_cli(config + model + " --limit 3 --deadline-ms 10000000,0.001 --budgets 1.0 " +
              "--latency-model " + out + "/lat.json --out " + out + "/run");
  INFO(ok.output);
  REQUIRE(ok.code == 0);
  CHECK(ok.output.find("one question at a time") != std::string::npos);
  CHECK(ok.output.find("| ada_L | 1.00 |") != std::string::npos);
  CHECK(ok.output.find("| ada_L | 10000000 ms deadline |") != std::string::npos);
  CHECK(ok.output.find("| ada_L | gqa | 0.001 | ") != std::string::npos);
  const auto json = read_json_file(out + "/run/results.json");
  REQUIRE(json["results"].size() == 3);
  CHECK(json["results"][1]["met_share"] == 1.0);
  CHECK(json["results"][2]["met_share"] == 0.0);
  CHECK(json["results"][2]["budget_max"] == 0.5);

  // Without --budgets, deadline rows only; start-up calibration without --latency-model.
  const auto startup =
      run_cli(config + model + " --deadline-ms 10000000 --limit 1 --out " + out + "/startup");
  INFO(startup.output);
  REQUIRE(startup.code == 0);
  CHECK(startup.output.find("calibrating this machine") != std::string::npos);
  CHECK(read_json_file(out + "/startup/results.json")["results"].size() == 1);

  for (const std::string bad : {"0", "-5", "nan", "inf", "abc", "40,x", "40,"}) {
    const auto r = run_cli(config + model + " --out " + out + "/bad --deadline-ms '" + bad + "'");
    INFO(bad << ": " << r.output);
    CHECK(r.code == 1);
    CHECK(r.output.find("--deadline-ms") != std::string::npos);
    CHECK(r.output.find("[eval] deadline mode") == std::string::npos);  // stopped before work
  }
  const auto lat8 = write_profile(out + "/lat8.json", kAdaL, 8);
  auto r = run_cli(config + model + " --deadline-ms 40 --latency-model " + lat8);
  INFO(r.output);
  CHECK(r.code == 1);
  CHECK(r.output.find("lat8.json") != std::string::npos);
  CHECK(r.output.find("num_layers") != std::string::npos);
  r = run_cli(config + model + " --latency-model " + out + "/lat.json");
  CHECK(r.code == 1);
  CHECK(r.output.find("--latency-model is only used with --deadline-ms") != std::string::npos);
  r = run_cli(config + model + " --deadline-ms 40 --latency-model " + out + "/missing.json");
  CHECK(r.code == 1);
  CHECK(r.output.find("missing.json") != std::string::npos);
}
