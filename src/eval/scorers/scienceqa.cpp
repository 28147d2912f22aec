#include "eval/scorers/scienceqa.h"

#include <unordered_map>

#include <fmt/format.h>

#include "common/error.h"
#include "common/files.h"
#include "common/py_text.h"

namespace adallava::scorers {
namespace {

constexpr const char* kOptions = "ABCDE";

bool is_option_letter(char c) {
  return c >= 'A' && c <= 'E';
}

// Number of non-overlapping matches of `The answer is ([A-Z]).` (`.` = any code point but
// "\n"), and the letter of the first one.
int count_answer_phrases(const std::string& text, char* first_letter) {
  static const std::string kPhrase = "The answer is ";
  int count = 0;
  size_t pos = 0;
  while ((pos = text.find(kPhrase, pos)) != std::string::npos) {
    const size_t letter = pos + kPhrase.size();
    if (letter + 1 < text.size() && text[letter] >= 'A' && text[letter] <= 'Z' &&
        text[letter + 1] != '\n') {
      if (count == 0) *first_letter = text[letter];
      ++count;
      // Skip the whole code point that `.` consumed.
      size_t next = letter + 2;
      while (next < text.size() && (static_cast<unsigned char>(text[next]) & 0xC0) == 0x80) ++next;
      pos = next;
    } else {
      pos += 1;
    }
  }
  return count;
}

}  // namespace

std::string scienceqa_parse_answer(const std::string& text) {
  if (text.size() == 1 && is_option_letter(text[0])) return text;
  if (text.size() >= 3 && is_option_letter(text[0]) && text[1] == '.' && text[2] == ' ') {
    return text.substr(0, 1);
  }
  char letter = 0;
  if (count_answer_phrases(text, &letter) == 1) return std::string(1, letter);
  return "FAILED";
}

int scienceqa_choice_index(const std::string& parsed, size_t num_choices) {
  if (parsed.size() != 1 || !is_option_letter(parsed[0])) return -1;
  const int index = parsed[0] - 'A';
  return static_cast<size_t>(index) < num_choices ? index : -1;
}

ScienceQaMetrics score_scienceqa(const std::vector<AnswerRecord>& answers,
                                 const std::vector<ScienceQaProblem>& split_problems) {
  std::unordered_map<std::string, const AnswerRecord*> by_id;
  for (const auto& a : answers) {
    // Problem ids are strings; upstream never matches a numeric question_id to them.
    if (a.question_id.is_string()) by_id[a.question_id.get<std::string>()] = &a;
  }
  ScienceQaMetrics m;
  for (const auto& problem : split_problems) {
    auto found = by_id.find(problem.id);
    std::string text = "FAILED", prompt = "Unknown";
    if (found != by_id.end()) {
      if (!found->second->has_prompt) {
        fail("{}: ScienceQA answers need a \"prompt\"",
             where(found->second->path, found->second->line));
      }
      text = found->second->text;
      prompt = found->second->prompt;
    }
    const std::string parsed = scienceqa_parse_answer(text);
    const int index = scienceqa_choice_index(parsed, problem.num_choices);
    const bool correct = index == problem.answer;
    const bool multimodal = py::contains(prompt, "<image>");
    m.parsed[problem.id] = parsed;
    m.results[problem.id] = index;
    ++m.total;
    m.correct += correct;
    m.img_total += multimodal;
    m.img_correct += multimodal && correct;
    if (multimodal) m.img_item_scores[problem.id] = correct ? 1.0 : 0.0;
  }
  m.acc = ratio(static_cast<double>(m.correct), static_cast<double>(m.total)) * 100;
  m.img_accuracy =
      ratio(static_cast<double>(m.img_correct), static_cast<double>(m.img_total)) * 100;
  return m;
}

MetricsJson ScienceQaMetrics::to_json(bool with_items) const {
  MetricsJson j;
  j["benchmark"] = "scienceqa";
  j["acc"] = number_or_null(acc);
  j["correct"] = correct;
  j["count"] = total;
  j["img_accuracy"] = number_or_null(img_accuracy);
  j["img_correct"] = img_correct;
  j["img_total"] = img_total;
  if (with_items) {
    j["parsed"] = parsed;
    j["results"] = results;
  }
  return j;
}

std::string ScienceQaMetrics::report() const {
  return fmt::format("Total: {}, Correct: {}, Accuracy: {}%, IMG-Accuracy: {}%", total, correct,
                     py::fixed(acc, 2), py::fixed(img_accuracy, 2));
}

std::vector<ScienceQaProblem> read_scienceqa_split(const std::string& base_dir,
                                                   const std::string& split) {
  const std::string splits_path = join_path(base_dir, "pid_splits.json");
  const std::string problems_path = join_path(base_dir, "problems.json");
  const nlohmann::json splits = read_json_file(splits_path);
  const nlohmann::json problems = read_json_file(problems_path);
  if (!splits.is_object() || !splits.contains(split) || !splits[split].is_array()) {
    fail("{}: no \"{}\" list of problem ids", splits_path, split);
  }
  if (!problems.is_object()) fail("{}: expected an object keyed by problem id", problems_path);
  std::vector<ScienceQaProblem> out;
  for (const auto& id_value : splits[split]) {
    if (!id_value.is_string()) fail("{}: \"{}\" must list string ids", splits_path, split);
    const std::string id = id_value.get<std::string>();
    auto p = problems.find(id);
    if (p == problems.end())
      fail("{}: problem {} (listed in {}) is missing", problems_path, id, splits_path);
    if (!p->contains("choices") || !(*p)["choices"].is_array() || !p->contains("answer") ||
        !(*p)["answer"].is_number_integer()) {
      fail("{}: problem {} needs a \"choices\" list and an integer \"answer\"", problems_path, id);
    }
    const int answer = (*p)["answer"].get<int>();
    if (answer < 0 || answer > 4) {
      fail("{}: problem {} has answer index {} outside the options A-E", problems_path, id, answer);
    }
    out.push_back({id, (*p)["choices"].size(), answer});
  }
  return out;
}

ScienceQaMetrics score_scienceqa_files(const std::string& answers_path, const std::string& base_dir,
                                       const std::string& split) {
  return score_scienceqa(read_answers(answers_path), read_scienceqa_split(base_dir, split));
}

}  // namespace adallava::scorers
