// MME against convert_answer_to_mme.py + calculation.py (golden run): the converted per-subtask
// files byte for byte, every subtask's counts and ratios exactly, both totals, and the printed
// score lines.
#include <catch2/catch.hpp>

#include <fstream>

#include "common/error.h"
#include "common/files.h"
#include "eval/scorers/mme.h"
#include "eval/scorers/records.h"
#include "support/paths.h"

using namespace adallava::scorers;
using adallava::test::golden;

namespace {
const std::string kDir = "scorers/mme/";

size_t check_metrics(const MmeMetrics& m, const nlohmann::json& expected) {
  CHECK(m.perception_total == expected["perception_total"].get<double>());
  CHECK(m.cognition_total == expected["cognition_total"].get<double>());
  size_t passed = 0;
  for (const auto& [task, want] : expected["tasks"].items()) {
    INFO("subtask " << task);
    const auto& got = m.tasks.at(task);
    const bool ok =
        got.tp == want["TP"].get<int>() && got.fn == want["FN"].get<int>() &&
        got.tn == want["TN"].get<int>() && got.fp == want["FP"].get<int>() &&
        got.precision == want["precision"].get<double>() &&
        got.recall == want["recall"].get<double>() &&
        got.other_num == want["other_num"].get<int>() && got.acc == want["acc"].get<double>() &&
        got.acc_plus == want["acc_plus"].get<double>() && got.score == want["score"].get<double>();
    CHECK(ok);
    passed += ok;
  }
  return passed;
}
}  // namespace

TEST_CASE("MME conversion reproduces the eval_tool answer files", "[scorers][mme]") {
  const auto gt = read_mme_ground_truth(golden(kDir + "MME_Benchmark_release_version"));
  const auto files =
      convert_answers_to_mme(read_answers(golden(kDir + "answers/llava-v1.5-synthetic.jsonl")), gt);
  REQUIRE(files.size() == 14);
  for (const auto& [task, contents] : files) {
    INFO("subtask " << task);
    CHECK(contents == adallava::read_text_file(golden(
                          kDir + "eval_tool/answers/llava-v1.5-synthetic/" + task + ".txt")));
  }
}

TEST_CASE("MME scores match calculation.py", "[scorers][mme]") {
  const auto expected = adallava::read_json_file(golden(kDir + "expected.json"));
  const auto m = score_mme_files(golden(kDir + "answers/llava-v1.5-synthetic.jsonl"),
                                 golden(kDir + "MME_Benchmark_release_version"));
  CHECK(check_metrics(m, expected) == 14);
  const std::string printed = expected["stdout"].get<std::string>();
  CHECK(printed.find(m.report()) != std::string::npos);

  // calculation.py run directly on the converted files gives the same.
  const auto direct =
      score_mme_results_dir(golden(kDir + "eval_tool/answers/llava-v1.5-synthetic"));
  CHECK(check_metrics(direct, expected) == 14);
}

TEST_CASE("MME prediction parsing looks at 4 characters incl. the newline", "[scorers][mme]") {
  CHECK(mme_parse_prediction("yes") == "yes");
  CHECK(mme_parse_prediction("no\n") == "no");
  CHECK(mme_parse_prediction("not sure\n") == "no");
  CHECK(mme_parse_prediction("know\n") == "no");
  CHECK(mme_parse_prediction("maybe\n") == "other");
  CHECK(mme_parse_prediction("probably yes\n") == "other");
  CHECK(mme_parse_prediction("i think so, yes\n") == "other");
}

TEST_CASE("MME errors: unknown question and broken pairs", "[scorers][mme]") {
  const std::string dir = adallava::test::scratch_dir("scorers_mme");
  const std::string answers = dir + "/a.jsonl";
  std::ofstream(answers)
      << "{\"question_id\": \"OCR/26716.jpg\", \"prompt\": \"Unknown?\", \"text\": \"Yes\"}\n";
  CHECK_THROWS_WITH(score_mme_files(answers, golden(kDir + "MME_Benchmark_release_version")),
                    Catch::Contains(answers + ":1") && Catch::Contains("no MME ground truth"));
  std::map<std::string, std::string> files;
  files["existence"] = "a.txt\tQ\tYes\tyes\n";
  CHECK_THROWS_WITH(score_mme_results(files), Catch::Contains("pairs"));
}
