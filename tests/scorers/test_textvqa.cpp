// TextVQA against the golden run of llava.eval.eval_textvqa (60 answers). Floats are compared
// exactly: upstream's values are Python reprs and the sums run in the same order.
#include <catch2/catch.hpp>

#include <fstream>

#include "common/error.h"
#include "common/files.h"
#include "common/py_text.h"
#include "eval/scorers/textvqa.h"
#include "support/paths.h"

using namespace adallava::scorers;
using adallava::test::golden;

namespace {
const std::string kDir = "scorers/textvqa/";
}

TEST_CASE("TextVQA accuracy and items match upstream exactly", "[scorers][textvqa]") {
  const auto expected = adallava::read_json_file(golden(kDir + "expected.json"));
  const auto m = score_textvqa_files(golden(kDir + "answers/llava-v1.5-synthetic.jsonl"),
                                     golden(kDir + "TextVQA_0.5.1_val.json"));
  REQUIRE(m.vqa.samples == expected["samples"].get<size_t>());
  CHECK(m.vqa.accuracy == expected["accuracy"].get<double>());
  CHECK(adallava::py::fixed(100.0 * m.vqa.accuracy, 2) ==
        expected["accuracy_percent_printed"].get<std::string>());

  const auto& items = expected["items"];
  REQUIRE(items.size() == m.vqa.items.size());
  size_t passed = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    INFO("item " << i << " pred: " << items[i]["pred_answer"].get<std::string>());
    const auto& got = m.vqa.items[i];
    bool ok = got.pred_processed == items[i]["pred_processed"].get<std::string>() &&
              got.gt_processed == items[i]["gt_processed"].get<std::vector<std::string>>() &&
              got.score == items[i]["score"].get<double>() &&
              m.questions[i] == items[i]["prompt_question"].get<std::string>() &&
              got.answer_scores.scores.size() == items[i]["unique_answer_scores"].size();
    for (const auto& [answer, score] : got.answer_scores.scores) {
      ok = ok && items[i]["unique_answer_scores"].contains(answer) &&
           items[i]["unique_answer_scores"][answer].get<double>() == score;
    }
    CHECK(ok);
    passed += ok;
  }
  CHECK(passed == 60);
}

TEST_CASE("TextVQA question recovery from prompts", "[scorers][textvqa]") {
  CHECK(textvqa_question_from_prompt("What is it?\nReference OCR token: A, B\nAnswer the question "
                                     "using a single word or phrase.") == "what is it?");
  CHECK(textvqa_question_from_prompt("Reference OCR token: A\nQuestion: Who?\nAnswer.") == "who?");
  CHECK(textvqa_question_from_prompt("Reference OCR token: A\nQuestion: Why?") == "why?");
  CHECK(textvqa_question_from_prompt("Where?\nAnswer briefly.") == "where?");
  CHECK(textvqa_question_from_prompt("OCR tokens: x y Question: How many? Short answer:") ==
        "how many?");
  CHECK_THROWS_AS(textvqa_question_from_prompt("just one line"), adallava::Error);
}

TEST_CASE("TextVQA errors name the file and line", "[scorers][textvqa]") {
  const std::string dir = adallava::test::scratch_dir("scorers_textvqa");
  const std::string bad = dir + "/bad.jsonl";
  std::ofstream(bad)
      << "{\"question_id\": \"x\", \"prompt\": \"Q?\\nA.\", \"text\": \"a\"}\n{oops\n";
  try {
    score_textvqa_files(bad, golden(kDir + "TextVQA_0.5.1_val.json"));
    FAIL("expected an error");
  } catch (const adallava::Error& e) {
    CHECK_THAT(e.what(), Catch::Contains(bad + ":2"));
  }
  const std::string unknown = dir + "/unknown.jsonl";
  std::ofstream(unknown)
      << "{\"question_id\": \"nope\", \"prompt\": \"Q?\\nA.\", \"text\": \"a\"}\n";
  CHECK_THROWS_WITH(score_textvqa_files(unknown, golden(kDir + "TextVQA_0.5.1_val.json")),
                    Catch::Contains(unknown + ":1") && Catch::Contains("no TextVQA annotation"));
}

TEST_CASE("VQA answer scores use the leave-one-out rule", "[scorers][vqa]") {
  std::vector<std::string> gt(10, "yes");
  gt[0] = "no";
  const auto scores = vqa_answer_scores(gt);
  // "no": only the 9 subsets that keep index 0 see one match -> 9 * (1/3) / 10.
  CHECK(scores.score_of("no") == Approx(0.3).epsilon(1e-15));
  CHECK(scores.score_of("yes") == 1.0);
  CHECK(scores.score_of("maybe") == 0.0);
  CHECK_THROWS_AS(vqa_answer_scores({"a", "b"}), adallava::Error);
}
