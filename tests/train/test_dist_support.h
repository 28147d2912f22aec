// Helpers for the distributed tests: a test executable re-executes itself as N ranks through
// train::launch_local_ranks, each rank running one hidden ("[.]") Catch2 test case by name.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "common/error.h"
#include "train/distributed/launcher.h"

namespace adallava::test {

inline std::string slurp(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

inline std::string env_or(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value ? value : fallback;
}

// Every rank's log, for failure messages.
inline std::string rank_logs(const std::string& log_dir, int nproc) {
  std::string all;
  for (int rank = 0; rank < nproc; ++rank) {
    const std::string path = log_dir + "/rank_" + std::to_string(rank) + ".log";
    all += "---- " + path + "\n" + slurp(path) + "\n";
  }
  return all;
}

// Runs hidden test case `worker_test` in `nproc` ranks of this executable; logs go to
// <work_dir>/logs, and ADALLAVA_DIST_TEST_DIR=<work_dir> tells the workers where to write.
inline int run_ranks(int nproc, const std::string& worker_test, const std::string& work_dir,
                     train::LaunchOptions options, train::LaunchReport* report = nullptr) {
  options.log_dir = work_dir + "/logs";
  options.extra_env.emplace_back("ADALLAVA_DIST_TEST_DIR", work_dir);
  return train::launch_local_ranks(nproc, {"dist-test-worker", worker_test}, options, report);
}

}  // namespace adallava::test
