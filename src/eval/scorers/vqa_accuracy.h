// VQA soft accuracy as m4c_evaluator.TextVQAAccuracyEvaluator computes it: every answer is
// normalized with normalize_vqa_answer; a candidate's score is the mean over the 10 human answers
// of min(1, #other humans giving it / 3) (leave-one-out), and the dataset accuracy is the mean of
// the predictions' scores, summed in input order like upstream so the float matches bit for bit.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "eval/scorers/metrics_json.h"

namespace adallava::scorers {

struct AnswerScores {
  // Distinct processed human answers with their scores, in order of first appearance.
  std::vector<std::pair<std::string, double>> scores;
  double score_of(const std::string& processed_answer) const;  // 0 when absent
};

// Human answers must number exactly 10 (upstream asserts it).
AnswerScores vqa_answer_scores(const std::vector<std::string>& raw_human_answers);

struct VqaItem {
  std::string pred_answer;
  std::vector<std::string> gt_answers;
};

struct VqaItemScore {
  std::string pred_processed;
  std::vector<std::string> gt_processed;
  AnswerScores answer_scores;
  double score = 0;
};

struct VqaAccuracy {
  size_t samples = 0;
  double accuracy = 0;  // fraction in [0, 1]; NaN without samples
  std::vector<VqaItemScore> items;
};

VqaAccuracy score_vqa_accuracy(const std::vector<VqaItem>& items);

}  // namespace adallava::scorers
