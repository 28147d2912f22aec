// adallava: one binary, sub-commands registered by the cmd_*.cpp files beside this one.
#include <algorithm>
#include <csignal>
#include <exception>
#include <iostream>
#include <map>

#include <spdlog/spdlog.h>

#include "command.h"
#include "common/error.h"
#include "common/log.h"
#include "model/compute_env.h"

namespace adallava::cli {

std::vector<CommandInfo>& command_registry() {
  static std::vector<CommandInfo> registry;
  return registry;
}

}  // namespace adallava::cli

int main(int argc, char** argv) {
  using namespace adallava;
  CLI::App app{"adallava: LLaVA-1.5 and AdaLLaVA (latency-budgeted LLaVA) in C++ / LibTorch"};
  app.set_version_flag("--version", std::string(ADALLAVA_VERSION) + " (" ADALLAVA_GIT_HASH ")");
  app.require_subcommand(1);
  app.fallthrough();  // global options such as --threads may follow the sub-command
  cli::GlobalOptions global;
  app.add_option("--threads", global.threads, "Intra-op threads (0 = all cores)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--log-level", global.log_level, "trace, debug, info, warn, error or off");

  auto& registry = cli::command_registry();
  std::sort(registry.begin(), registry.end(),
            [](const auto& a, const auto& b) { return a.order < b.order; });
  std::map<CLI::App*, std::function<int()>> runners;
  for (auto& cmd : registry) {
    CLI::App* sub = app.add_subcommand(cmd.name, cmd.description);
    runners[sub] = cmd.setup(*sub, global);
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  try {
    set_log_level(global.log_level);
    for (auto& [sub, run] : runners) {
      if (sub->parsed()) return run();
    }
  } catch (const Error& e) {
    spdlog::error("{}", e.what());
    return 1;
  } catch (const std::exception& e) {
    // LibTorch and library errors: still one line, still a non-zero exit.
    std::string msg = e.what();
    auto nl = msg.find("\nException raised from");
    if (nl != std::string::npos) msg = msg.substr(0, nl);
    spdlog::error("{}", msg);
    return 1;
  }
  return 0;
}
