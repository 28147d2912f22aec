// Small filesystem helpers whose errors name the path.
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

namespace adallava {

bool file_exists(const std::string& path);
bool dir_exists(const std::string& path);
std::string read_text_file(const std::string& path);
// Parses a JSON file; a syntax error names the file, line and column.
nlohmann::json read_json_file(const std::string& path);
// Writes through a temporary file and rename, so readers never see a partial file.
void write_text_file_atomic(const std::string& path, const std::string& contents);
std::string join_path(const std::string& a, const std::string& b);
std::string parent_dir(const std::string& path);

}  // namespace adallava
