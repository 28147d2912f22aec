#include "train/data/records.h"

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/files.h"

namespace adallava::train {

namespace {

bool looks_like_json_lines(const std::string& path, const std::string& text) {
  const std::string suffix = ".jsonl";
  if (path.size() >= suffix.size() &&
      path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0)
    return true;
  const size_t first = text.find_first_not_of(" \t\r\n");
  return first != std::string::npos && text[first] != '[';
}

// The id is read on its own so that a record with other broken fields is still named by it.
std::string id_of(const nlohmann::json& entry) {
  if (!entry.is_object()) return "";
  const auto it = entry.find("id");
  if (it == entry.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return std::to_string(it->get<int64_t>());
  return "";
}

// nlohmann's message without its "[json.exception.parse_error.101] " prefix.
std::string short_parse_error(const nlohmann::json::parse_error& e) {
  std::string what = e.what();
  const size_t close = what.find("] ");
  return close == std::string::npos ? what : what.substr(close + 2);
}

void add_entry(RecordFile& out, const nlohmann::json& entry, int64_t index, int64_t line) {
  ++out.total_records;
  try {
    DataRecord record;
    record.index = index;
    record.line = line;
    record.sample = text::parse_instruction_sample(entry, record_location(out.path, index, line));
    out.records.push_back(std::move(record));
  } catch (const Error& e) {
    // parse_instruction_sample prefixes the location; keep only the problem.
    std::string message = e.what();
    const std::string prefix = record_location(out.path, index, line);
    if (message.rfind(prefix, 0) == 0) message = message.substr(prefix.size());
    if (message.rfind(": ", 0) == 0) message = message.substr(2);
    out.problems.push_back({out.path, index, line, id_of(entry), message});
  }
}

}  // namespace

std::string record_location(const std::string& file, int64_t index, int64_t line) {
  if (line > 0) return file + ":" + std::to_string(line);
  return file + "[" + std::to_string(index) + "]";
}

std::string RecordProblem::to_string() const {
  if (index < 0) return file + ": " + problem;
  std::string where = record_location(file, index, line);
  if (line > 0) where += ": record " + std::to_string(index);
  if (!id.empty()) where += " (id " + id + ")";
  return where + ": " + problem;
}

RecordFile read_record_file(const std::string& path, std::optional<int64_t> max_records) {
  if (!file_exists(path)) fail("{}: data file not found", path);
  const std::string text = read_text_file(path);
  RecordFile out;
  out.path = path;
  out.json_lines = looks_like_json_lines(path, text);
  const int64_t limit = max_records.value_or(-1);
  auto full = [&] { return limit >= 0 && out.total_records >= limit; };

  if (!out.json_lines) {
    nlohmann::json document;
    try {
      document = read_json_file(path);
    } catch (const Error& e) {
      out.problems.push_back({path, -1, 0, "", e.what()});
      return out;
    }
    if (!document.is_array()) {
      out.problems.push_back({path, -1, 0, "", "expected a JSON list of records"});
      return out;
    }
    for (size_t i = 0; i < document.size() && !full(); ++i)
      add_entry(out, document[i], static_cast<int64_t>(i), 0);
    return out;
  }

  size_t begin = 0;
  int64_t line_number = 0;
  int64_t index = 0;
  while (begin < text.size() && !full()) {
    size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(begin, end - begin);
    begin = end + 1;
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json entry;
    try {
      entry = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error& e) {
      ++out.total_records;
      out.problems.push_back(
          {path, index, line_number, "", "malformed JSON (" + short_parse_error(e) + ")"});
      ++index;
      continue;
    }
    add_entry(out, entry, index, line_number);
    ++index;
  }
  return out;
}

}  // namespace adallava::train
