// Sub-command registry: each cmd_<name>.cpp defines one sub-command and registers it statically,
// so main.cpp never changes when a command is added.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace adallava::cli {

struct GlobalOptions {
  int threads = 0;  // 0 = all cores
  std::string log_level = "info";
};

// `setup` adds the sub-command's options to `app` and returns the function that runs it
// (returning the process exit code).
using CommandSetup =
    std::function<std::function<int()>(CLI::App& app, const GlobalOptions& global)>;

struct CommandInfo {
  std::string name;
  std::string description;
  CommandSetup setup;
  int order;  // position in --help
};

std::vector<CommandInfo>& command_registry();

struct RegisterCommand {
  RegisterCommand(std::string name, std::string description, int order, CommandSetup setup) {
    command_registry().push_back(
        {std::move(name), std::move(description), std::move(setup), order});
  }
};

}  // namespace adallava::cli
