// MME: LLaVA's convert_answer_to_mme.py (answers -> per-subtask "image\tquestion\tgt\tpred"
// lines) followed by the official eval_tool/calculation.py. The conversion is done to text and
// re-read line by line exactly like calculation.py, so its quirks carry over: the prediction
// keeps the line's trailing newline, so (after lower-casing) its first 4 characters are searched
// for "yes" then "no" ("Not sure" and "know" count as no, "Maybe" as other); lines are taken in
// image pairs; score = 100*acc + 100*acc_plus.
#pragma once

#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "eval/scorers/metrics_json.h"
#include "eval/scorers/records.h"

namespace adallava::scorers {

// The 10 perception and 4 cognition subtasks, in calculation.py's order.
const std::vector<std::string>& mme_perception_tasks();
const std::vector<std::string>& mme_cognition_tasks();

// "yes", "no" or "other" for an already lower-cased prediction field.
std::string mme_parse_prediction(const std::string& lowered_prediction);

// Ground truth: (subtask, "<image stem>.txt", question) -> "Yes"/"No".
using MmeGroundTruth = std::map<std::tuple<std::string, std::string, std::string>, std::string>;
MmeGroundTruth read_mme_ground_truth(const std::string& release_dir);

// convert_answer_to_mme: subtask -> contents of eval_tool/answers/<model>/<subtask>.txt.
std::map<std::string, std::string> convert_answers_to_mme(const std::vector<AnswerRecord>& answers,
                                                          const MmeGroundTruth& ground_truth);

struct MmeTaskMetrics {
  int tp = 0, fn = 0, tn = 0, fp = 0;
  double precision = 0, recall = 0;  // 0 when undefined (sklearn's zero_division default)
  int other_num = 0;
  double acc = 0, acc_plus = 0, score = 0;
  MetricsJson to_json() const;
};

struct MmeMetrics {
  std::map<std::string, MmeTaskMetrics> tasks;
  double perception_total = 0, cognition_total = 0;
  MetricsJson to_json() const;
  std::string report() const;  // calculation.py's score lines
};

// calculation.py on the per-subtask file contents (every one of the 14 subtasks must exist).
MmeMetrics score_mme_results(const std::map<std::string, std::string>& task_files);
// The two steps together, and the file-level forms: `release_dir` is
// MME_Benchmark_release_version; `results_dir` holds the 14 converted <subtask>.txt files.
MmeMetrics score_mme(const std::vector<AnswerRecord>& answers, const MmeGroundTruth& ground_truth);
MmeMetrics score_mme_files(const std::string& answers_path, const std::string& release_dir);
MmeMetrics score_mme_results_dir(const std::string& results_dir);

}  // namespace adallava::scorers
