// POPE (llava/eval/eval_pope.py), per split (adversarial / popular / random). An answer is "no"
// iff, after keeping the text before its first '.', removing commas and splitting on single
// spaces, one of the words is exactly "No", "no" or "not"; anything else is "yes". A split's
// answers (in answer-file order) are zipped with its label file's lines (in file order).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "eval/scorers/metrics_json.h"
#include "eval/scorers/records.h"

namespace adallava::scorers {

bool pope_answer_is_yes(const std::string& text);

struct PopeSplitMetrics {
  size_t samples = 0;  // answers of the split
  int tp = 0, fp = 0, tn = 0, fn = 0;
  // NaN where upstream would divide by zero.
  double accuracy = 0, precision = 0, recall = 0, f1 = 0, yes_ratio = 0;
  std::string summary_line() const;  // "F1, Acc, Precision, Recall, yes-ratio" to 3 decimals
  MetricsJson to_json() const;
};

// `labels`: "yes"/"no" per label-file line; anything but "no" counts as yes, as upstream.
PopeSplitMetrics score_pope_split(const std::vector<std::string>& answer_texts,
                                  const std::vector<std::string>& labels);

struct PopeMetrics {
  std::map<std::string, PopeSplitMetrics> splits;
  double mean_f1 = 0;  // mean of the per-split F1s (the usual reported POPE number, x100)
  MetricsJson to_json() const;
};

// `question_category`: question_id key (id_key) -> category, from llava_pope_test.jsonl.
// `labels_by_split`: split name -> labels of coco/coco_pope_<split>.json.
PopeMetrics score_pope(const std::vector<AnswerRecord>& answers,
                       const std::map<std::string, std::string>& question_category,
                       const std::map<std::string, std::vector<std::string>>& labels_by_split);

std::map<std::string, std::string> read_pope_questions(const std::string& question_file);
std::vector<std::string> read_pope_labels(const std::string& label_file);
// Every coco_pope_<split>.json in `label_dir` (other files are ignored with a warning).
std::map<std::string, std::vector<std::string>> read_pope_label_dir(const std::string& label_dir);
PopeMetrics score_pope_files(const std::string& answers_path, const std::string& question_file,
                             const std::string& label_dir);

}  // namespace adallava::scorers
