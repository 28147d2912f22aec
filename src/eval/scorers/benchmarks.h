// One entry point over all scorers, used by `adallava eval score`: resolves the benchmark's
// native files from --answers/--annotations and returns the metrics as JSON plus the report the
// upstream script prints.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "eval/scorers/metrics_json.h"

namespace adallava::scorers {

const std::vector<std::string>& known_benchmarks();

struct ScoreRequest {
  std::string benchmark;
  std::string answers;      // answers .jsonl (MME: or an eval_tool/answers/<model> directory)
  std::string annotations;  // file or directory, see resolve rules in benchmarks.cpp
  std::string questions;    // POPE only: llava_pope_test.jsonl when not beside the labels
  bool with_items = false;  // per-item details (TextVQA items, ScienceQA parsed letters)
};

struct ScoreResult {
  MetricsJson metrics;
  std::string report;      // human-readable lines, as the upstream script prints them
  std::string submission;  // VQAv2: the upload JSON (empty for other benchmarks)
  // Score (0-1) of each question by question id (id_text) where the headline metric is a mean over
  // questions: TextVQA, GQA, ScienceQA's image questions (VQAv2's local accuracy is computed
  // by the eval runner). Lets two runs be compared question by question.
  std::map<std::string, double> item_scores;
};

// Throws adallava::Error for unknown benchmarks (listing the known ones) and bad inputs.
ScoreResult score_benchmark(const ScoreRequest& request);

}  // namespace adallava::scorers
