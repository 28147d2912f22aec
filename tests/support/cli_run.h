// Runs the built `adallava` binary with arguments and captures its exit code and output, for
// tests of command-line behaviour (errors, exit codes, printed tables).
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

#include <catch2/catch.hpp>

#include "support/paths.h"

namespace adallava::test {

struct CliRun {
  int code = -1;
  std::string output;  // stdout + stderr
};

inline CliRun run_adallava(const std::string& args) {
  const std::string cmd = adallava_bin() + " " + args + " 2>&1";
  CliRun r;
  FILE* pipe = popen(cmd.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::array<char, 4096> buffer{};
  while (fgets(buffer.data(), buffer.size(), pipe)) r.output += buffer.data();
  const int status = pclose(pipe);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace adallava::test
