// Shared access to golden/text for the text tests.
#pragma once

#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/files.h"
#include "data/text/tokenizer.h"
#include "support/paths.h"

namespace adallava::test {

inline const nlohmann::json& text_golden() {
  static const nlohmann::json data = read_json_file(golden("text/golden.json"));
  return data;
}

inline const text::Tokenizer& llama_tokenizer() {
  static const text::Tokenizer tokenizer = text::Tokenizer::load(golden("text/tokenizer.model"));
  return tokenizer;
}

inline std::vector<int64_t> ids_of(const nlohmann::json& array) {
  return array.get<std::vector<int64_t>>();
}

inline void report(const std::string& category, int passed, int total) {
  std::cout << "[text] " << category << ": " << passed << "/" << total << " match\n";
}

}  // namespace adallava::test
