// EvalAI answer normalization against the 140 golden cases produced by upstream
// m4c_evaluator.EvalAIAnswerProcessor (exact string equality).
#include <catch2/catch.hpp>

#include "common/files.h"
#include "eval/scorers/answer_normalization.h"
#include "common/py_text.h"
#include "support/paths.h"

#include <nlohmann/json.hpp>

using adallava::scorers::normalize_vqa_answer;

TEST_CASE("normalize_vqa_answer matches every golden case", "[scorers][vqa]") {
  const auto expected =
      adallava::read_json_file(adallava::test::golden("scorers/vqa_normalization/expected.json"));
  const auto inputs =
      adallava::read_json_file(adallava::test::golden("scorers/vqa_normalization/cases.json"));
  REQUIRE(expected["cases"].size() == 140);
  REQUIRE(inputs["inputs"].size() == expected["cases"].size());
  size_t passed = 0;
  for (size_t i = 0; i < expected["cases"].size(); ++i) {
    const auto& c = expected["cases"][i];
    REQUIRE(c["input"] == inputs["inputs"][i]);
    const std::string input = c["input"].get<std::string>();
    INFO("case " << i << " input: " << input);
    CHECK(normalize_vqa_answer(input) == c["output"].get<std::string>());
    passed += normalize_vqa_answer(input) == c["output"].get<std::string>();
  }
  CHECK(passed == 140);
}

TEST_CASE("normalize_vqa_answer reproduces the documented quirks", "[scorers][vqa]") {
  // 33 periods: only 32 are removed (re.UNICODE passed as count).
  CHECK(normalize_vqa_answer("x" + std::string(33, '.')) == "x.");
  CHECK(normalize_vqa_answer("x" + std::string(32, '.')) == "x");
  // A period before a digit is kept; the look-behind typo never protects "3.".
  CHECK(normalize_vqa_answer("3.5.") == "3.5");
  // Punctuation touching a space is deleted, otherwise it becomes a space.
  CHECK(normalize_vqa_answer("a-b") == "b");
  CHECK(normalize_vqa_answer("x -y") == "x y");
  CHECK(normalize_vqa_answer("x-y") == "x y");
  CHECK(normalize_vqa_answer("Eleven two") == "eleven 2");
  CHECK(normalize_vqa_answer("it's") == "it 's");
  CHECK(normalize_vqa_answer("Im") == "im");  // capitalised contraction keys never match
  CHECK(normalize_vqa_answer("somebody'd") == "somebodyd");
  CHECK(normalize_vqa_answer("\xC3\x89T\xC3\x89") == "\xC3\xA9t\xC3\xA9");  // "ÉTÉ" -> "été"
  // Non-ASCII whitespace (no-break space) separates words like Python's str.split().
  CHECK(normalize_vqa_answer("two\xC2\xA0"
                             "dogs") == "2 dogs");
}

TEST_CASE("Python string helpers", "[scorers][py]") {
  namespace py = adallava::py;
  CHECK(py::readlines("a\r\nb\rc\nd") == std::vector<std::string>{"a\n", "b\n", "c\n", "d"});
  CHECK(py::repr(1315.0) == "1315.0");
  CHECK(py::repr(99.99999999999999) == "99.99999999999999");
  CHECK(py::repr(0.1) == "0.1");
  CHECK(py::fixed(0.8421052631578948, 3) == "0.842");
  CHECK(py::fixed(0.6874999999999999, 3) == "0.687");
  CHECK(py::lower("\xC4\xB0") == "i\xCC\x87");  // 'İ' -> 'i' + U+0307, as Python
  // Final sigma: "ΟΔΟΣ ΣΑ" -> "οδος σα" (word-final form only at the end of a word).
  CHECK(py::lower("\xCE\x9F\xCE\x94\xCE\x9F\xCE\xA3 \xCE\xA3\xCE\x91") ==
        "\xCE\xBF\xCE\xB4\xCE\xBF\xCF\x82 \xCF\x83\xCE\xB1");
  CHECK(py::split_whitespace("  a \t b\n") == std::vector<std::string>{"a", "b"});
}
