// Scores an answer file with the upstream-exact scorers (scorers::score_benchmark) and picks
// the number each paper reports: VQAv2 VQA accuracy (computed here from the official
// annotations when the config names them; the real test-dev score comes from EvalAI), GQA
// accuracy, TextVQA accuracy, ScienceQA IMG accuracy, POPE mean F1 over the splits, MME
// perception score (sum of the perception subtasks, not a percentage), MMBench CircularEval
// accuracy. Percentages are 0-100.
#pragma once

#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "eval/runner/eval_config.h"

namespace adallava::eval {

struct BenchmarkScore {
  std::string metric;              // e.g. "accuracy", "img_accuracy", "f1", "perception"
  std::optional<double> value;     // the headline number
  nlohmann::ordered_json metrics;  // the scorer's full metrics
  std::string report;              // what the upstream script prints
  std::string submission;          // VQAv2 upload JSON
  // Accuracy (0-100) per question family/category where the benchmark gives one.
  std::map<std::string, double> per_family;
  // Score (0-100) of each answered question by question id, where the metric is a mean over
  // questions (VQAv2's local VQA accuracy, GQA, TextVQA, ScienceQA-IMG); empty otherwise. Pairs
  // runs question by question.
  std::map<std::string, double> item_scores;
};

BenchmarkScore score_answers(const EvalConfig& config, const std::string& answers_path);

// VQAv2 accuracy against the official annotation JSON ({"annotations": [{"question_id",
// "answers": [{"answer"}...]}]}), with EvalAI's normalization and the leave-one-out formula;
// per family from the question file's `category`. Only answered questions count.
struct VqaLocalAccuracy {
  size_t samples = 0;
  double accuracy = 0;  // percent
  std::map<std::string, double> per_family;
  std::map<std::string, double> item_scores;  // question id -> score, percent
};
VqaLocalAccuracy vqav2_local_accuracy(const std::string& answers_path,
                                      const std::string& annotations_path,
                                      const std::string& questions_path);

}  // namespace adallava::eval
