// Shared helpers of the synth tests: generate a suite once per test executable and read its files.
#pragma once

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/synth/generator.h"
#include "support/paths.h"

namespace synth_test {

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline bool exists(const std::string& path) {
  return std::ifstream(path).good();
}

inline nlohmann::json read_json(const std::string& path) {
  return nlohmann::json::parse(read_file(path));
}

inline std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::istringstream in(read_file(path));
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

inline std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

inline bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Generates a suite of `size` with `seed` once per process and returns its folder.
inline const std::string& suite(const std::string& size, uint64_t seed = 7) {
  static std::map<std::string, std::string> made;
  const std::string key = size + "_" + std::to_string(seed);
  auto it = made.find(key);
  if (it != made.end()) return it->second;
  adallava::synth::SynthOptions options;
  options.out_dir = adallava::test::scratch_dir("synth_suite_" + key);
  options.seed = seed;
  options.size = size;
  options.force = true;
  adallava::synth::generate_suite(options);
  return made[key] = options.out_dir;
}

}  // namespace synth_test
