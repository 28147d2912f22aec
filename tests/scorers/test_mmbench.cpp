// MMBench has no golden case: these tests follow the published CircularEval definition (a
// question counts only if all its rotated copies, rows index + k*1e6, are answered correctly)
// and LLaVA's eval_mmbench.auto_parse_answer rules. Counts are exact; accuracies are
// correct/total*100 compared exactly.
#include <catch2/catch.hpp>

#include <fstream>

#include "common/error.h"
#include "eval/scorers/mmbench.h"
#include "eval/scorers/records.h"
#include "support/paths.h"

using namespace adallava::scorers;

namespace {

const std::vector<std::string> kFour = {"cat", "dog", "bird", "fish"};

std::string write(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

// Two questions: 0 (4 options, answer B) with 3 rotated copies, and 1 (2 options, answer A)
// with its rotated copy. The question of row 0 holds a quoted tab and newline.
std::string write_tsv(const std::string& dir) {
  std::string tsv = "index\tquestion\thint\tA\tB\tC\tD\tanswer\tcategory\tl2-category\n";
  tsv += "0\t\"What\tis\n\"\"this\"\"?\"\tnan\tcat\tdog\tbird\tfish\tB\tanimals\tperception\n";
  tsv += "1000000\tWhat is this?\tnan\tdog\tbird\tfish\tcat\tA\tanimals\tperception\n";
  tsv += "2000000\tWhat is this?\tnan\tbird\tfish\tcat\tdog\tD\tanimals\tperception\n";
  tsv += "3000000\tWhat is this?\tnan\tfish\tcat\tdog\tbird\tC\tanimals\tperception\n";
  tsv += "1\tIs it red?\tA hint\tyes\tno\tnan\t\tA\tcolors\treasoning\n";
  tsv += "1000001\tIs it red?\tA hint\tno\tyes\tnan\t\tB\tcolors\treasoning\n";
  return write(dir + "/mmbench.tsv", tsv);
}

std::string answer_line(int64_t index, const std::string& text) {
  return nlohmann::json({{"question_id", index},
                         {"round_id", 0},
                         {"prompt", "p"},
                         {"text", text},
                         {"answer_id", "x"},
                         {"model_id", "m"},
                         {"metadata", nlohmann::json::object()}})
             .dump() +
         "\n";
}

}  // namespace

TEST_CASE("MMBench letter parsing follows LLaVA's auto_parse_answer", "[scorers][mmbench]") {
  CHECK(mmbench_parse_answer("B", kFour) == std::optional<std::string>("B"));
  CHECK(mmbench_parse_answer("b.", kFour) == std::optional<std::string>("B"));
  CHECK(mmbench_parse_answer(" C ", kFour) == std::optional<std::string>("C"));
  CHECK(mmbench_parse_answer("..d..", kFour) == std::optional<std::string>("D"));
  CHECK(mmbench_parse_answer("I think the answer is d. yes", kFour) ==
        std::optional<std::string>("D"));
  CHECK(mmbench_parse_answer("The answer is C", kFour) == std::nullopt);         // needs the '.'
  CHECK(mmbench_parse_answer("Dog", kFour) == std::optional<std::string>("B"));  // option text
  CHECK(mmbench_parse_answer("i", kFour) == std::nullopt);  // in "bird" and "fish"
  CHECK(mmbench_parse_answer("E", kFour) == std::nullopt);
  // Only the first len(options) letters are valid; "d" then matches the text "dog".
  CHECK(mmbench_parse_answer("D", {"cat", "dog"}) == std::optional<std::string>("B"));
}

TEST_CASE("MMBench TSV reading", "[scorers][mmbench]") {
  const std::string dir = adallava::test::scratch_dir("scorers_mmbench_tsv");
  const auto questions = read_mmbench_questions(write_tsv(dir));
  REQUIRE(questions.size() == 6);
  CHECK(questions[0].question == "What\tis\n\"this\"?");
  CHECK(questions[0].options == kFour);
  CHECK(questions[4].options == std::vector<std::string>{"yes", "no"});
  CHECK(questions[4].category == "colors");
  CHECK(questions[5].line == 8);  // row 0 spans lines 2-3

  write(dir + "/bad.tsv", "index\tquestion\tA\tB\tanswer\nx1\tq\ta\tb\tA\n");
  CHECK_THROWS_WITH(read_mmbench_questions(dir + "/bad.tsv"),
                    Catch::Contains("bad.tsv:2") && Catch::Contains("not an integer"));
  write(dir + "/short.tsv", "index\tquestion\tA\tB\tanswer\n1\tq\ta\n");
  CHECK_THROWS_WITH(read_mmbench_questions(dir + "/short.tsv"), Catch::Contains("short.tsv:2"));
}

TEST_CASE("MMBench CircularEval needs every rotation right", "[scorers][mmbench]") {
  const std::string dir = adallava::test::scratch_dir("scorers_mmbench");
  const std::string tsv = write_tsv(dir);

  SECTION("one wrong copy fails only its own question") {
    std::string answers = answer_line(0, "B") + answer_line(1000000, "The answer is A.") +
                          answer_line(2000000, "dog") + answer_line(3000000, "C.") +
                          answer_line(1, "A") + answer_line(1000001, "A");  // wrong: answer is B
    const auto m = score_mmbench_files(write(dir + "/a.jsonl", answers), tsv);
    CHECK(m.circular.total == 2);
    CHECK(m.circular.correct == 1);
    CHECK(m.circular.accuracy == 50.0);
    CHECK(m.per_answer.total == 6);
    CHECK(m.per_answer.correct == 5);
    CHECK(m.per_category.at("animals").correct == 1);
    CHECK(m.per_category.at("colors").correct == 0);
    CHECK(m.per_l2_category.at("reasoning").total == 1);
    CHECK(m.unparsed == 0);
    CHECK(m.unanswered_rows == 0);
  }
  SECTION("all copies right") {
    std::string answers = answer_line(0, "B") + answer_line(1000000, "A") +
                          answer_line(2000000, "D") + answer_line(3000000, "C") +
                          answer_line(1, "A") + answer_line(1000001, "B");
    const auto m = score_mmbench_files(write(dir + "/b.jsonl", answers), tsv);
    CHECK(m.circular.correct == 2);
    CHECK(m.circular.accuracy == 100.0);
  }
  SECTION("a missing copy or an unparsable answer fails the question") {
    std::string answers = answer_line(0, "B") + answer_line(1000000, "A") +
                          answer_line(2000000, "D") + answer_line(1, "A") +
                          answer_line(1000001, "no idea at all");
    const auto m = score_mmbench_files(write(dir + "/c.jsonl", answers), tsv);
    CHECK(m.unanswered_rows == 1);
    CHECK(m.unparsed == 1);
    CHECK(m.circular.correct == 0);
    CHECK(m.per_answer.total == 5);
    CHECK(m.per_answer.correct == 4);
  }
  SECTION("--all-rounds answers map rotated letters back") {
    auto round = [](int64_t index, int r, std::vector<std::string> options,
                    std::vector<std::string> chars, const std::string& text) {
      return nlohmann::json({{"question_id", index},
                             {"round_id", r},
                             {"prompt", "p"},
                             {"text", text},
                             {"options", options},
                             {"option_char", chars}})
                 .dump() +
             "\n";
    };
    std::string answers = round(1, 0, {"yes", "no"}, {"A", "B"}, "A") +
                          round(1, 1, {"no", "yes"}, {"B", "A"}, "B");  // "B" = "yes" = original A
    std::vector<MmbenchQuestion> questions = {
        {1, "Is it red?", {"yes", "no"}, "A", "colors", "", 2}};
    std::vector<AnswerRecord> records;
    size_t line = 0;
    for (const auto& l :
         {answers.substr(0, answers.find('\n')), answers.substr(answers.find('\n') + 1)}) {
      if (l.empty()) continue;
      records.push_back(parse_answer_record(nlohmann::json::parse(l), "mem", ++line));
    }
    const auto m = score_mmbench(records, questions);
    CHECK(m.per_answer.correct == 2);
    CHECK(m.circular.correct == 1);
  }
  SECTION("unknown index names the answer line") {
    CHECK_THROWS_WITH(score_mmbench_files(
                          write(dir + "/d.jsonl", answer_line(0, "B") + answer_line(7, "A")), tsv),
                      Catch::Contains("d.jsonl:2") && Catch::Contains("index 7"));
  }
}
