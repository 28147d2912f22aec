// GQA against convert_gqa_for_eval.py + eval.py --tier testdev_balanced (golden run). Scores are
// compared exactly (upstream's full-precision floats); the printed score lines must match the
// script's stdout.
#include <catch2/catch.hpp>

#include <fstream>

#include "common/error.h"
#include "common/files.h"
#include "eval/scorers/gqa.h"
#include "eval/scorers/records.h"
#include "support/paths.h"

using namespace adallava::scorers;
using adallava::test::golden;

namespace {
const std::string kDir = "scorers/gqa/";
const std::string kAnswers =
    kDir + "answers/llava_gqa_testdev_balanced/llava-v1.5-synthetic/merge.jsonl";

template <typename Buckets>
size_t check_buckets(const Buckets& got, const nlohmann::json& want) {
  size_t passed = 0;
  CHECK(got.size() == want.size());
  for (const auto& [key, bucket] : got) {
    const std::string name = fmt::format("{}", key);
    INFO("bucket " << name);
    REQUIRE(want.contains(name));
    const bool ok = bucket.score == want[name]["score"].get<double>() &&
                    bucket.count == want[name]["count"].get<size_t>();
    CHECK(ok);
    passed += ok;
  }
  return passed;
}
}  // namespace

TEST_CASE("GQA predictions match convert_gqa_for_eval", "[scorers][gqa]") {
  const auto expected = adallava::read_json_file(golden(kDir + "expected.json"));
  const auto predictions = convert_gqa_predictions(read_answers(golden(kAnswers)));
  const auto file =
      adallava::read_json_file(golden(kDir + "data/testdev_balanced_predictions.json"));
  REQUIRE(predictions.size() == file.size());
  for (size_t i = 0; i < predictions.size(); ++i) {
    CHECK(predictions[i].first == file[i]["questionId"]);
    CHECK(predictions[i].second == file[i]["prediction"].get<std::string>());
    CHECK(expected["predictions"][predictions[i].first.get<std::string>()] ==
          predictions[i].second);
  }
}

TEST_CASE("GQA scores match eval.py exactly", "[scorers][gqa]") {
  const auto expected = adallava::read_json_file(golden(kDir + "expected.json"));
  const auto& s = expected["scores"];
  const auto m =
      score_gqa_files(golden(kAnswers), golden(kDir + "data/testdev_balanced_questions.json"));
  CHECK(m.accuracy == s["accuracy"].get<double>());
  CHECK(m.binary == s["binary"].get<double>());
  CHECK(m.open == s["open"].get<double>());
  CHECK(m.validity == s["validity"].get<double>());
  CHECK(m.plausibility == s["plausibility"].get<double>());
  CHECK(m.consistency == s["consistency"].get<double>());
  CHECK(m.grounding == s["grounding"].get<double>());
  CHECK(m.distribution == s["distribution"].get<double>());
  size_t passed = check_buckets(m.per_structural_type, s["accuracyPerStructuralType"]);
  passed += check_buckets(m.per_semantic_type, s["accuracyPerSemanticType"]);
  passed += check_buckets(m.per_length, s["accuracyPerLength"]);
  passed += check_buckets(m.per_steps, s["accuracyPerSteps"]);
  CHECK(passed == 5 + 5 + 8 + 5);

  const std::string stdout_text = expected["stdout"].get<std::string>();
  const std::string marker = "Loading predictions...\n\n";
  const auto start = stdout_text.find(marker);
  REQUIRE(start != std::string::npos);
  CHECK(m.report() == stdout_text.substr(start + marker.size()));

  // Per-question scores (for comparing two runs question by question): every balanced question,
  // 1 exactly where the prediction equals the gold answer, averaging to the accuracy.
  const auto questions =
      adallava::read_json_file(golden(kDir + "data/testdev_balanced_questions.json"));
  REQUIRE(m.item_scores.size() == m.balanced_questions);
  double sum = 0;
  for (const auto& [qid, score] : m.item_scores) {
    INFO("question " << qid);
    REQUIRE(questions[qid]["isBalanced"].get<bool>());
    const bool right = expected["predictions"][qid] == questions[qid]["answer"];
    CHECK(score == (right ? 1.0 : 0.0));
    sum += score;
  }
  CHECK(sum > 0);
  CHECK(sum < m.item_scores.size());
  CHECK(100.0 * sum / m.item_scores.size() == Approx(m.accuracy).margin(1e-9));
}

TEST_CASE("GQA fails on a balanced question without prediction", "[scorers][gqa]") {
  const std::string dir = adallava::test::scratch_dir("scorers_gqa");
  const std::string answers = dir + "/one.jsonl";
  std::ofstream(answers)
      << "{\"question_id\": \"200001498\", \"prompt\": \"p\", \"text\": \"table\"}\n";
  CHECK_THROWS_WITH(score_gqa_files(answers, golden(kDir + "data/testdev_balanced_questions.json")),
                    Catch::Contains("no prediction for question"));
}

TEST_CASE("GQA prediction normalization is rstrip('.') + lower only", "[scorers][gqa]") {
  CHECK(gqa_prediction_from_text("Table...") == "table");
  CHECK(gqa_prediction_from_text(" The Table. ") == " the table. ");
}
