// Reading LLaVA instruction records from a JSON list or JSON lines, keeping going past bad
// records so that every problem of a file can be reported in one pass.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "data/text/instruction_data.h"

namespace adallava::train {

// Where a record came from and what is wrong with it.
struct RecordProblem {
  std::string file;
  int64_t index = -1;  // record ordinal in the file (list index / n-th non-empty line), -1 = file
  int64_t line = 0;    // 1-based line for JSON lines, 0 for a JSON list
  std::string id;      // empty when the record has no readable id
  std::string problem;

  // "train.jsonl:12: record 11 (id abc): missing image file ..." /
  // "train.json[11] (id abc): ...".
  std::string to_string() const;
};

struct DataRecord {
  int64_t index = 0;  // ordinal in the file
  int64_t line = 0;   // 1-based line (JSON lines) or 0
  text::InstructionSample sample;
};

struct RecordFile {
  std::string path;
  bool json_lines = false;
  std::vector<DataRecord> records;      // the readable ones, in file order
  std::vector<RecordProblem> problems;  // unreadable records (and file-level errors)
  int64_t total_records = 0;            // readable + unreadable
};

// JSON lines when the name ends in .jsonl or the first non-blank character is not '['; a JSON
// list otherwise. A missing file is an Error; a list that is not valid JSON is one file-level
// problem; a bad line or a record with missing/mistyped fields is a problem of that record.
// `max_records` keeps only the first N records.
RecordFile read_record_file(const std::string& path,
                            std::optional<int64_t> max_records = std::nullopt);

// Where a record came from, for messages: "file:line" or "file[index]".
std::string record_location(const std::string& file, int64_t index, int64_t line);

}  // namespace adallava::train
