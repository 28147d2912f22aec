// VQAv2 test-dev submission (scripts/convert_vqav2_for_submission.py). The score itself comes
// from the EvalAI server; this builds the upload file: one entry per question of the full
// test2015 split, in split order, answer = normalize_vqa_answer(text) or "" when unanswered.
// Malformed answer lines are counted and skipped, as upstream does.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "eval/scorers/metrics_json.h"
#include "eval/scorers/records.h"

namespace adallava::scorers {

struct VqaV2Submission {
  size_t total_results = 0;  // distinct question ids among the answers
  size_t total_split = 0;
  size_t error_lines = 0;
  std::vector<size_t> error_line_numbers;
  size_t answered = 0;  // split questions that received an answer
  std::vector<std::pair<nlohmann::json, std::string>> answers;  // (question_id, answer)

  nlohmann::ordered_json upload_json() const;
  std::string upload_text() const;   // byte-identical to upstream's json.dump
  std::string summary_line() const;  // upstream's printed line
  MetricsJson to_json() const;
};

VqaV2Submission convert_vqav2_for_submission(const std::vector<AnswerRecord>& results,
                                             const std::vector<nlohmann::json>& split_question_ids);

// Reads the test split (llava_vqav2_mscoco_test2015.jsonl: {"question_id", ...} per line).
std::vector<nlohmann::json> read_vqav2_split(const std::string& path);
VqaV2Submission convert_vqav2_files(const std::string& answers_path, const std::string& split_path);

}  // namespace adallava::scorers
