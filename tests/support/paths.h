// Where tests find the upstream golden data and the adallava binary.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

namespace adallava::test {

// ../shared/golden beside the checkout, or $ADALLAVA_GOLDEN when set.
inline std::string golden_dir() {
  if (const char* env = std::getenv("ADALLAVA_GOLDEN")) return env;
  return ADALLAVA_GOLDEN_DEFAULT;
}

inline std::string golden(const std::string& relative) {
  return golden_dir() + "/" + relative;
}

inline std::string source_dir() {
  return ADALLAVA_SOURCE_DIR;
}

// The CLI binary, for tests that check exit codes and messages end to end.
inline std::string adallava_bin() {
  if (const char* env = std::getenv("ADALLAVA_BIN")) return env;
  return std::string(ADALLAVA_BINARY_DIR) + "/apps/adallava/adallava";
}

// A fresh, empty scratch directory under the build tree.
inline std::string scratch_dir(const std::string& name) {
  std::string dir = std::string(ADALLAVA_BINARY_DIR) + "/test-scratch/" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace adallava::test
