// Tab-separated tables as pandas.read_table reads them (header row, '"' quoting with "" escapes,
// quoted fields may hold tabs and newlines), for MMBench's question files.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace adallava::scorers {

struct TsvTable {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;  // each row has columns.size() fields
  std::vector<size_t> row_lines;               // 1-based line where each row starts
  int column(const std::string& name) const;   // -1 if absent
};

TsvTable read_tsv(const std::string& path);

// pandas' default NA strings ("", "NaN", "nan", "NA", "N/A", "null", "None", ...).
bool is_pandas_na(const std::string& field);

}  // namespace adallava::scorers
