#include "eval/scorers/vqav2.h"

#include <unordered_map>

#include <fmt/format.h>

#include "common/error.h"
#include "eval/scorers/answer_normalization.h"

namespace adallava::scorers {

nlohmann::ordered_json VqaV2Submission::upload_json() const {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& [id, answer] : answers) {
    nlohmann::ordered_json entry;
    entry["question_id"] = id;
    entry["answer"] = answer;
    out.push_back(std::move(entry));
  }
  return out;
}

std::string VqaV2Submission::upload_text() const {
  return python_json_dumps(upload_json());
}

std::string VqaV2Submission::summary_line() const {
  return fmt::format("total results: {}, total split: {}, error_line: {}", total_results,
                     total_split, error_lines);
}

MetricsJson VqaV2Submission::to_json() const {
  MetricsJson j;
  j["benchmark"] = "vqav2";
  j["note"] = "test-dev accuracy is computed by the EvalAI server from the upload file";
  j["total_results"] = total_results;
  j["total_split"] = total_split;
  j["answered"] = answered;
  j["unanswered"] = total_split - answered;
  j["error_lines"] = error_lines;
  j["error_line_numbers"] = error_line_numbers;
  return j;
}

VqaV2Submission convert_vqav2_for_submission(
    const std::vector<AnswerRecord>& results,
    const std::vector<nlohmann::json>& split_question_ids) {
  std::unordered_map<std::string, const AnswerRecord*> by_id;
  for (const auto& r : results) by_id[id_key(r.question_id)] = &r;  // last one wins

  VqaV2Submission out;
  out.total_results = by_id.size();
  out.total_split = split_question_ids.size();
  for (const auto& id : split_question_ids) {
    auto found = by_id.find(id_key(id));
    if (found == by_id.end()) {
      out.answers.emplace_back(id, "");
    } else {
      out.answers.emplace_back(id, normalize_vqa_answer(found->second->text));
      ++out.answered;
    }
  }
  return out;
}

std::vector<nlohmann::json> read_vqav2_split(const std::string& path) {
  std::vector<nlohmann::json> ids;
  for (const auto& rec : read_jsonl(path)) {
    if (!rec.value.is_object() || !rec.value.contains("question_id")) {
      fail("{}: question record has no \"question_id\"", where(path, rec.line));
    }
    ids.push_back(rec.value["question_id"]);
  }
  return ids;
}

VqaV2Submission convert_vqav2_files(const std::string& answers_path,
                                    const std::string& split_path) {
  LenientJsonl lines = read_jsonl_lenient(answers_path);
  std::vector<AnswerRecord> results;
  for (const auto& rec : lines.records) {
    results.push_back(parse_answer_record(rec.value, answers_path, rec.line));
  }
  VqaV2Submission out = convert_vqav2_for_submission(results, read_vqav2_split(split_path));
  out.error_lines = lines.malformed_lines.size();
  out.error_line_numbers = lines.malformed_lines;
  return out;
}

}  // namespace adallava::scorers
