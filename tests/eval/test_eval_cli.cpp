// `adallava eval` end to end on the whole tiny synthetic suite (all seven benchmark formats in
// one invocation), the results files parse, `eval score` still re-scores an answer file, and
// bad input exits 1 with one line naming the file.
#include <catch2/catch.hpp>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>

#include <nlohmann/json.hpp>

#include "common/files.h"
#include "support/cli_run.h"
#include "support/paths.h"
#include "synth_fixture.h"

using namespace adallava;
namespace fs = std::filesystem;

namespace {

using Run = test::CliRun;

Run run(const std::string& args) {
  return test::run_adallava(args);
}

std::string model_args() {
  return "--model " + test::golden("llava-tiny/llava15_orig") + " --vision-tower " +
         test::golden("llava-tiny/clip_vision");
}

// Every opening tag of the SVG is closed (or self-closing), in order.
bool svg_balanced(const std::string& svg) {
  std::vector<std::string> stack;
  const std::regex tag(R"(<(/?)([a-zA-Z]+)[^>]*?(/?)>)");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), tag); it != std::sregex_iterator();
       ++it) {
    const auto& m = *it;
    if (m[3] == "/") continue;
    if (m[1] == "/") {
      if (stack.empty() || stack.back() != m[2]) return false;
      stack.pop_back();
    } else {
      stack.push_back(m[2]);
    }
  }
  return stack.empty();
}

}  // namespace

TEST_CASE("the whole suite in one invocation: answers, scores, tables and plot") {
  const std::string out = test::scratch_dir("eval-cli-suite");
  const auto r = run("eval --config " + test::source_dir() + "/configs/eval/all.yaml " +
                     model_args() + " --data-root " + test::tiny_synth_suite() +
                     "/eval --set max_new_tokens=3 --batch-size 8 --budgets 1.0 --out " + out);
  INFO(r.output);
  REQUIRE(r.code == 0);
  const auto json = read_json_file(out + "/results.json");
  REQUIRE(json["results"].size() == 7);
  for (const auto& row : json["results"]) {
    INFO(row.dump());
    CHECK(row["value"].is_number());
    CHECK(row["answered"].get<int>() > 0);
  }
  CHECK(json["results"][4]["metric"] == "f1");
  CHECK(json["results"][4]["answered"] == 72);
  CHECK(json["results"][6]["answered"] == 28);
  const std::string csv = read_text_file(out + "/results.csv");
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 8);
  const std::string svg = read_text_file(out + "/plot.svg");
  CHECK(svg_balanced(svg));
  CHECK(svg.find("(static)") != std::string::npos);  // plain LLaVA is a static baseline
  CHECK(r.output.find("| llava15_orig | 1.00 |") != std::string::npos);  // printed table

  // eval score re-scores an answer file without a model.
  const auto s = run("eval score --benchmark pope --answers " + out +
                     "/llava15_orig/pope/budget_1.00/answers.jsonl --annotations " +
                     test::tiny_synth_suite() + "/eval/pope/coco --out " + out + "/pope.json");
  INFO(s.output);
  CHECK(s.code == 0);
  const auto pope = read_json_file(out + "/pope.json");
  CHECK(std::abs(100.0 * pope["mean_f1"].get<double>() -
                 json["results"][4]["value"].get<double>()) < 1e-9);

  // merge action: two halves back into question order.
  const std::string answers = out + "/llava15_orig/mme/budget_1.00/answers.jsonl";
  const std::string text = read_text_file(answers);
  const size_t half = text.find('\n', text.size() / 2) + 1;
  std::ofstream(out + "/b.jsonl") << text.substr(0, half);
  std::ofstream(out + "/a.jsonl") << text.substr(half);
  const auto m = run("eval merge " + out + "/a.jsonl " + out + "/b.jsonl -o " + out + "/m.jsonl");
  INFO(m.output);
  CHECK(m.code == 0);
  CHECK(read_text_file(out + "/m.jsonl") == text);
  CHECK(run("eval merge " + out + "/a.jsonl " + out + "/a.jsonl -o " + out + "/m2.jsonl").code ==
        1);

  // plot action: combine results files.
  const auto p = run("eval plot --results " + out + "/results.json --out " + out + "/combined");
  CHECK(p.code == 0);
  CHECK(fs::exists(out + "/combined/plot.svg"));
  // --pool: the same evaluation given twice pools into rows with twice the answers and the same
  // scores (its question ids are kept apart per file).
  const auto pooled = run("eval plot --pool --results " + out + "/results.json --results " + out +
                          "/results.json --out " + out + "/pooled");
  INFO(pooled.output);
  REQUIRE(pooled.code == 0);
  const auto pooled_json = read_json_file(out + "/pooled/results.json");
  REQUIRE(pooled_json["results"].size() == 7);
  for (size_t i = 0; i < 7; ++i) {
    INFO(json["results"][i]["benchmark"]);
    CHECK(pooled_json["results"][i]["answered"] == 2 * json["results"][i]["answered"].get<int>());
    CHECK(pooled_json["results"][i]["value"].get<double>() ==
          Approx(json["results"][i]["value"].get<double>()).margin(1e-9));
  }
}

TEST_CASE("bad input: one line naming the problem, exit 1") {
  const std::string dir = test::scratch_dir("eval-cli-errors");
  std::ofstream(dir + "/bad.yaml") << "benchmark: vizwiz\nquestions: q.jsonl\nimage_folder: i\n";
  auto r = run("eval --config " + dir + "/bad.yaml " + model_args());
  CHECK(r.code == 1);
  CHECK(r.output.find("unknown benchmark \"vizwiz\"") != std::string::npos);

  fs::create_directories(dir + "/vqav2/img");
  std::ofstream(dir + "/vqav2/q.jsonl")
      << "{\"question_id\": 1, \"image\": \"nope.png\", \"text\": \"Q?\"}\n";
  std::ofstream(dir + "/v.yaml")
      << "benchmark: vqav2\nfolder: vqav2\nquestions: q.jsonl\nimage_folder: img\n";
  r = run("eval --config " + dir + "/v.yaml --data-root " + dir + " " + model_args());
  CHECK(r.code == 1);
  CHECK(r.output.find("q.jsonl:1: image \"nope.png\" not found") != std::string::npos);

  r = run("eval --config " + dir + "/v.yaml " + model_args() + " --budgets 0.5,x");
  CHECK(r.code == 1);
  CHECK(r.output.find("--budgets") != std::string::npos);
}
