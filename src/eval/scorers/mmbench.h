// MMBench (dev) with CircularEval. LLaVA answers the TSV rows with model_vqa_mmbench.py; the
// official scoring (OpenCompass / VLMEvalKit) treats every row whose index is >= 1e6 as a copy
// of row `index % 1e6` with its options rotated, and a question counts as correct only if every
// copy (and, with --all-rounds, every rotation round) is answered correctly. The letter is read
// from the answer with LLaVA's rule-based parser (eval_mmbench.auto_parse_answer): the text
// stripped of '.' and spaces is a valid letter; else the first letter X whose
// "the answer is X." occurs (case-insensitive); else the only option whose text contains the
// answer. Unparsable answers (which upstream would send to ChatGPT) count as wrong.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "eval/scorers/metrics_json.h"
#include "eval/scorers/records.h"

namespace adallava::scorers {

struct MmbenchQuestion {
  int64_t index = 0;
  std::string question;
  std::vector<std::string> options;  // A, B, ... up to the first missing one
  std::string answer;                // ground-truth letter
  std::string category, l2_category;
  size_t line = 0;
};

// The letter ("A".."D") the answer names among `options`, or nullopt.
std::optional<std::string> mmbench_parse_answer(const std::string& answer,
                                                const std::vector<std::string>& options);

struct MmbenchAccuracy {
  size_t total = 0, correct = 0;
  double accuracy = 0;  // percent
};

struct MmbenchMetrics {
  MmbenchAccuracy circular;    // per question group (the official number)
  MmbenchAccuracy per_answer;  // every answered row/round on its own
  size_t unparsed = 0;         // answers no rule could map to a letter
  size_t unanswered_rows = 0;  // TSV rows without any answer (their group fails)
  std::map<std::string, MmbenchAccuracy> per_category, per_l2_category;  // circular
  MetricsJson to_json() const;
};

MmbenchMetrics score_mmbench(const std::vector<AnswerRecord>& answers,
                             const std::vector<MmbenchQuestion>& questions);

// mmbench_dev_*.tsv (needs index, question, A, B, answer; C, D, category, l2-category optional).
std::vector<MmbenchQuestion> read_mmbench_questions(const std::string& tsv_path);
MmbenchMetrics score_mmbench_files(const std::string& answers_path, const std::string& tsv_path);

}  // namespace adallava::scorers
