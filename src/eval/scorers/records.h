// Reading the files the scorers consume: JSON-lines answer files in LLaVA's format
// ({question_id, prompt, text, answer_id, model_id, metadata}) and plain JSON annotations.
// Problems are reported as adallava::Error naming the file and line.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace adallava::scorers {

struct JsonLine {
  size_t line = 0;  // 1-based
  nlohmann::json value;
};

// Every line must hold one JSON value; a blank line is malformed too (upstream's json.loads
// rejects it). Lines end at "\n", "\r\n" or "\r", as Python's text-mode iteration splits them.
std::vector<JsonLine> read_jsonl(const std::string& path);

// convert_vqav2_for_submission's reader: undecodable lines are skipped and counted.
struct LenientJsonl {
  std::vector<JsonLine> records;
  std::vector<size_t> malformed_lines;
};
LenientJsonl read_jsonl_lenient(const std::string& path);

// A JSON file whose object key order matters (GQA iterates its questions in file order).
nlohmann::ordered_json read_json_ordered(const std::string& path);

// One model answer. `question_id` keeps its JSON type: upstream matches ids with Python
// equality, so the string "5" and the number 5 are different questions.
struct AnswerRecord {
  nlohmann::json question_id;
  std::string text;
  std::string prompt;
  bool has_prompt = false;
  nlohmann::json raw;  // the whole record (MMBench reads round_id/options/option_char)
  std::string path;
  size_t line = 0;
};

AnswerRecord parse_answer_record(const nlohmann::json& value, const std::string& path, size_t line);
std::vector<AnswerRecord> read_answers(const std::string& path);

// A type-sensitive lookup key for an id value, and its display form (strings unquoted).
std::string id_key(const nlohmann::json& id);
std::string id_text(const nlohmann::json& id);

// json.dumps(value) with Python's defaults (", " and ": " separators, ensure_ascii), so files
// meant for upload servers are byte-identical to the upstream scripts' output.
std::string python_json_dumps(const nlohmann::ordered_json& value);

// "file:line: " prefix for messages about a record.
std::string where(const std::string& path, size_t line);

}  // namespace adallava::scorers
