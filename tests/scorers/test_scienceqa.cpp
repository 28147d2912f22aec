// ScienceQA against llava/eval/eval_science_qa.py's golden run: every parsed letter, every
// result index, the exact acc float and the printed line.
#include <catch2/catch.hpp>

#include "common/files.h"
#include "eval/scorers/scienceqa.h"
#include "support/paths.h"

using namespace adallava::scorers;
using adallava::test::golden;

TEST_CASE("ScienceQA matches upstream per problem", "[scorers][scienceqa]") {
  const std::string dir = "scorers/scienceqa/";
  const auto expected = adallava::read_json_file(golden(dir + "expected.json"));
  const auto m =
      score_scienceqa_files(golden(dir + "answers/llava-v1.5-synthetic.jsonl"), golden(dir));
  CHECK(m.total == expected["total"].get<size_t>());
  CHECK(m.correct == expected["correct"].get<size_t>());
  CHECK(m.acc == expected["acc"].get<double>());
  CHECK(m.img_correct == expected["img_correct"].get<size_t>());
  CHECK(m.img_total == expected["img_total"].get<size_t>());
  CHECK(m.report() + "\n" == expected["stdout"].get<std::string>());

  size_t passed = 0;
  REQUIRE(m.parsed.size() == expected["parsed"].size());
  for (const auto& [pid, letter] : expected["parsed"].items()) {
    INFO("problem " << pid);
    const bool ok = m.parsed.at(pid) == letter.get<std::string>() &&
                    m.results.at(pid) == expected["results"][pid].get<int>();
    CHECK(ok);
    passed += ok;
  }
  CHECK(passed == 60);

  // The script's own result file agrees too.
  const auto result_file =
      adallava::read_json_file(golden(dir + "answers/llava-v1.5-synthetic_result.json"));
  CHECK(result_file["acc"].get<double>() == m.acc);

  // Per-question scores of the image problems (the population of IMG accuracy), for comparing
  // two runs question by question: 1 exactly where the parsed choice is the problem's answer.
  const auto problems = adallava::read_json_file(golden(dir + "problems.json"));
  REQUIRE(m.img_item_scores.size() == m.img_total);
  size_t img_correct = 0;
  for (const auto& [pid, score] : m.img_item_scores) {
    INFO("problem " << pid);
    CHECK(score == (m.results.at(pid) == problems[pid]["answer"].get<int>() ? 1.0 : 0.0));
    img_correct += score == 1.0;
  }
  CHECK(img_correct == m.img_correct);
  CHECK(img_correct > 0);
  CHECK(img_correct < m.img_total);
}

TEST_CASE("ScienceQA answer parsing rules", "[scorers][scienceqa]") {
  CHECK(scienceqa_parse_answer("B") == "B");
  CHECK(scienceqa_parse_answer("F") == "FAILED");
  CHECK(scienceqa_parse_answer("b") == "FAILED");
  CHECK(scienceqa_parse_answer(" B") == "FAILED");
  CHECK(scienceqa_parse_answer("C. dip") == "C");
  CHECK(scienceqa_parse_answer("C.dip") == "FAILED");
  CHECK(scienceqa_parse_answer("The answer is B.") == "B");
  CHECK(scienceqa_parse_answer("The answer is B") == "FAILED");  // '.' needs a character
  CHECK(scienceqa_parse_answer("The answer is B!") == "B");      // '.' is any character
  CHECK(scienceqa_parse_answer("The answer is Z.") == "Z");      // [A-Z], rejected later
  CHECK(scienceqa_parse_answer("The answer is A. The answer is B.") == "FAILED");  // two matches
  CHECK(scienceqa_choice_index("Z", 3) == -1);
  CHECK(scienceqa_choice_index("D", 3) == -1);
  CHECK(scienceqa_choice_index("C", 3) == 2);
  CHECK(scienceqa_choice_index("FAILED", 5) == -1);
}
