#include "eval/scorers/tsv.h"

#include <algorithm>

#include "common/error.h"
#include "common/files.h"

namespace adallava::scorers {

int TsvTable::column(const std::string& name) const {
  auto it = std::find(columns.begin(), columns.end(), name);
  return it == columns.end() ? -1 : static_cast<int>(it - columns.begin());
}

bool is_pandas_na(const std::string& field) {
  static const char* const kNa[] = {"",         "#N/A", "#N/A N/A", "#NA",    "-1.#IND",
                                    "-1.#QNAN", "-NaN", "-nan",     "1.#IND", "1.#QNAN",
                                    "<NA>",     "N/A",  "NA",       "NULL",   "NaN",
                                    "None",     "n/a",  "nan",      "null"};
  return std::any_of(std::begin(kNa), std::end(kNa), [&](const char* na) { return field == na; });
}

TsvTable read_tsv(const std::string& path) {
  const std::string text = read_text_file(path);
  std::vector<std::vector<std::string>> records;
  std::vector<size_t> record_lines;
  std::vector<std::string> fields;
  std::string field;
  bool in_quotes = false, field_started = false;
  size_t line = 1, record_line = 1;
  auto end_field = [&] {
    fields.push_back(std::move(field));
    field.clear();
    field_started = false;
  };
  auto end_record = [&] {
    end_field();
    // Blank lines are skipped, as pandas does by default.
    if (!(fields.size() == 1 && fields[0].empty())) {
      records.push_back(std::move(fields));
      record_lines.push_back(record_line);
    }
    fields.clear();
    record_line = line;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_quotes) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field.push_back('"');
        ++i;
      } else if (c == '"') {
        in_quotes = false;
      } else {
        if (c == '\n') ++line;
        field.push_back(c);
      }
      continue;
    }
    if (c == '"' && !field_started) {
      in_quotes = true;
      field_started = true;
    } else if (c == '\t') {
      end_field();
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      ++line;
      end_record();
    } else {
      field.push_back(c);
      field_started = true;
    }
  }
  if (in_quotes) fail("{}:{}: unterminated quoted field", path, record_line);
  if (!field.empty() || !fields.empty()) end_record();
  if (records.empty()) fail("{}: empty table (no header row)", path);

  TsvTable table;
  table.columns = std::move(records[0]);
  for (size_t r = 1; r < records.size(); ++r) {
    if (records[r].size() != table.columns.size()) {
      fail("{}:{}: {} fields, but the header has {} columns", path, record_lines[r],
           records[r].size(), table.columns.size());
    }
    table.rows.push_back(std::move(records[r]));
    table.row_lines.push_back(record_lines[r]);
  }
  return table;
}

}  // namespace adallava::scorers
