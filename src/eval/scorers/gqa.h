// GQA testdev-balanced: LLaVA's scripts/convert_gqa_for_eval.py (prediction =
// text.rstrip('.').lower()) followed by the official GQA eval.py as LLaVA runs it
// (--tier testdev_balanced, no consistency or grounding). Exact-match accuracy over the balanced
// questions, binary/open split, per-type/length/steps accuracies, validity and plausibility
// (0 without a choices file, as on testdev) and the chi-square answer-distribution score.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "eval/scorers/metrics_json.h"
#include "eval/scorers/records.h"

namespace adallava::scorers {

// convert_gqa_for_eval: (questionId, prediction) in answer order.
std::vector<std::pair<nlohmann::json, std::string>> convert_gqa_predictions(
    const std::vector<AnswerRecord>& answers);
std::string gqa_prediction_from_text(const std::string& text);

struct GqaBucket {
  double score = 0;  // percent
  size_t count = 0;
};

struct GqaMetrics {
  double accuracy = 0, binary = 0, open = 0, validity = 0, plausibility = 0;
  double consistency = 0, grounding = 0;  // not computed (as LLaVA runs eval.py): always 0
  double distribution = 0;                // NaN when no question has a global group
  size_t balanced_questions = 0;
  std::map<std::string, GqaBucket> per_structural_type, per_semantic_type;
  std::map<int, GqaBucket> per_length, per_steps;
  std::map<std::string, double> item_scores;  // balanced question id -> 0 or 1
  MetricsJson to_json() const;
  std::string report() const;  // eval.py's score lines
};

// `questions`: the GQA questions file (object keyed by question id, file order kept).
// `choices`: the optional {tier}_choices.json (null when absent, as for testdev).
// Throws when a balanced question has no prediction (upstream raises "missing predictions").
GqaMetrics score_gqa(const nlohmann::ordered_json& questions,
                     const std::vector<std::pair<nlohmann::json, std::string>>& predictions,
                     const nlohmann::json& choices = nullptr,
                     const std::string& questions_path = "questions");

// answers .jsonl + testdev_balanced_questions.json [+ choices json if the path is non-empty].
GqaMetrics score_gqa_files(const std::string& answers_path, const std::string& questions_path,
                           const std::string& choices_path = "");

}  // namespace adallava::scorers
