#include "eval/scorers/vqa_accuracy.h"

#include <algorithm>

#include "common/error.h"
#include "eval/scorers/answer_normalization.h"

namespace adallava::scorers {

double AnswerScores::score_of(const std::string& processed_answer) const {
  for (const auto& [answer, score] : scores) {
    if (answer == processed_answer) return score;
  }
  return 0.0;
}

AnswerScores vqa_answer_scores(const std::vector<std::string>& raw_human_answers) {
  if (raw_human_answers.size() != 10) {
    fail("VQA accuracy needs exactly 10 human answers per question, got {}",
         raw_human_answers.size());
  }
  std::vector<std::string> answers;
  for (const auto& raw : raw_human_answers) answers.push_back(normalize_vqa_answer(raw));

  AnswerScores result;
  for (const auto& candidate : answers) {
    const bool seen = std::any_of(result.scores.begin(), result.scores.end(),
                                  [&](const auto& entry) { return entry.first == candidate; });
    if (seen) continue;
    double sum = 0.0;
    for (size_t left_out = 0; left_out < answers.size(); ++left_out) {
      int matches = 0;
      for (size_t j = 0; j < answers.size(); ++j) {
        if (j != left_out && answers[j] == candidate) ++matches;
      }
      sum += std::min(1.0, static_cast<double>(matches) / 3);
    }
    result.scores.emplace_back(candidate, sum / static_cast<double>(answers.size()));
  }
  return result;
}

VqaAccuracy score_vqa_accuracy(const std::vector<VqaItem>& items) {
  VqaAccuracy result;
  result.samples = items.size();
  double total = 0.0;
  for (const auto& item : items) {
    VqaItemScore scored;
    scored.pred_processed = normalize_vqa_answer(item.pred_answer);
    for (const auto& gt : item.gt_answers) scored.gt_processed.push_back(normalize_vqa_answer(gt));
    scored.answer_scores = vqa_answer_scores(item.gt_answers);
    scored.score = scored.answer_scores.score_of(scored.pred_processed);
    total += scored.score;
    result.items.push_back(std::move(scored));
  }
  result.accuracy = ratio(total, static_cast<double>(items.size()));
  return result;
}

}  // namespace adallava::scorers
