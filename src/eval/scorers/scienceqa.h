// ScienceQA test (llava/eval/eval_science_qa.py at LLaVA c121f04). A prediction is parsed as:
// the text itself if it is exactly one of A-E; else its first letter if it starts "<L>. ";
// else the letter of the only match of `The answer is ([A-Z]).` (any character after the
// letter, so a bare "The answer is B" at the very end does not match); else FAILED. It is
// correct when the letter's index equals the problem's answer (letters beyond the choices and
// FAILED are wrong). IMG accuracy restricts to answers whose prompt contains "<image>".
#pragma once

#include <map>
#include <string>
#include <vector>

#include "eval/scorers/metrics_json.h"
#include "eval/scorers/records.h"

namespace adallava::scorers {

struct ScienceQaProblem {
  std::string id;
  size_t num_choices = 0;
  int answer = 0;  // index into the choices
};

// "A".."E" or "FAILED".
std::string scienceqa_parse_answer(const std::string& text);
// Index of the parsed letter among the problem's choices, -1 when FAILED or out of range.
int scienceqa_choice_index(const std::string& parsed, size_t num_choices);

struct ScienceQaMetrics {
  size_t total = 0, correct = 0;
  size_t img_total = 0, img_correct = 0;
  double acc = 0;                                 // percent (upstream's `acc`)
  double img_accuracy = 0;                        // percent; NaN without image questions
  std::map<std::string, std::string> parsed;      // problem id -> letter or FAILED
  std::map<std::string, int> results;             // problem id -> choice index or -1
  std::map<std::string, double> img_item_scores;  // image problem id -> 0 or 1
  MetricsJson to_json(bool with_items = false) const;
  std::string report() const;  // upstream's printed line
};

// `split_problems` in pid_splits order. Answers are matched by string question_id; a later
// answer to the same problem replaces an earlier one.
ScienceQaMetrics score_scienceqa(const std::vector<AnswerRecord>& answers,
                                 const std::vector<ScienceQaProblem>& split_problems);

// problems.json + pid_splits.json from `base_dir`, as the script's --base-dir.
std::vector<ScienceQaProblem> read_scienceqa_split(const std::string& base_dir,
                                                   const std::string& split = "test");
ScienceQaMetrics score_scienceqa_files(const std::string& answers_path, const std::string& base_dir,
                                       const std::string& split = "test");

}  // namespace adallava::scorers
