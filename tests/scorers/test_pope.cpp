// POPE against llava/eval/eval_pope.py's golden run: counts exactly, ratios exactly (Python
// reprs), the 3-decimal summary line and the printed block per split.
#include <catch2/catch.hpp>

#include "common/files.h"
#include "eval/scorers/pope.h"
#include "common/py_text.h"
#include "support/paths.h"

using namespace adallava::scorers;
using adallava::test::golden;

TEST_CASE("POPE per-split metrics match upstream", "[scorers][pope]") {
  const std::string dir = "scorers/pope/";
  const auto expected = adallava::read_json_file(golden(dir + "expected.json"));
  const auto m = score_pope_files(golden(dir + "answers/llava-v1.5-synthetic.jsonl"),
                                  golden(dir + "llava_pope_test.jsonl"), golden(dir + "coco"));
  REQUIRE(m.splits.size() == 3);
  size_t passed = 0;
  for (const auto& [split, want] : expected["categories"].items()) {
    INFO("split " << split);
    const auto& got = m.splits.at(split);
    CHECK(got.samples == want["samples"].get<size_t>());
    CHECK(got.tp == want["TP"].get<int>());
    CHECK(got.fp == want["FP"].get<int>());
    CHECK(got.tn == want["TN"].get<int>());
    CHECK(got.fn == want["FN"].get<int>());
    CHECK(got.accuracy == want["accuracy"].get<double>());
    CHECK(got.precision == want["precision"].get<double>());
    CHECK(got.recall == want["recall"].get<double>());
    CHECK(got.f1 == want["f1"].get<double>());
    CHECK(got.yes_ratio == want["yes_ratio"].get<double>());
    CHECK(got.summary_line() == want["summary_line"].get<std::string>());
    namespace py = adallava::py;
    const std::string printed =
        "Category: " + split + ", # samples: " + std::to_string(got.samples) +
        "\nTP\tFP\tTN\tFN\t\n" + std::to_string(got.tp) + "\t" + std::to_string(got.fp) + "\t" +
        std::to_string(got.tn) + "\t" + std::to_string(got.fn) +
        "\nAccuracy: " + py::repr(got.accuracy) + "\nPrecision: " + py::repr(got.precision) +
        "\nRecall: " + py::repr(got.recall) + "\nF1 score: " + py::repr(got.f1) +
        "\nYes ratio: " + py::repr(got.yes_ratio) + "\n" + got.summary_line() + "\n";
    CHECK(printed == want["stdout"].get<std::string>());
    passed += printed == want["stdout"].get<std::string>();
  }
  CHECK(passed == 3);
}

TEST_CASE("POPE yes/no parsing quirks", "[scorers][pope]") {
  CHECK_FALSE(pope_answer_is_yes("No"));
  CHECK_FALSE(pope_answer_is_yes("no, there is none."));
  CHECK_FALSE(pope_answer_is_yes("There is not a dog."));
  CHECK(pope_answer_is_yes("NO"));
  CHECK(pope_answer_is_yes("Nope"));
  CHECK(pope_answer_is_yes("I don't think so."));
  CHECK(pope_answer_is_yes("No\nthere is none"));             // "No\nthere" is one word
  CHECK(pope_answer_is_yes("Yes. The bear is not visible"));  // only the first sentence counts
  CHECK(pope_answer_is_yes(""));
}

TEST_CASE("POPE undefined ratios become NaN instead of crashing", "[scorers][pope]") {
  const auto m = score_pope_split({"No", "no"}, {"yes", "no"});
  CHECK(m.tp == 0);
  CHECK(m.fn == 1);
  CHECK(m.tn == 1);
  CHECK(std::isnan(m.precision));
  CHECK(m.recall == 0.0);
  CHECK(m.accuracy == 0.5);
  CHECK(m.to_json()["precision"].is_null());
}
