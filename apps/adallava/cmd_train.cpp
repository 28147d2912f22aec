// adallava train: train LLaVA and AdaLLaVA from YAML recipes, in one process, in
// --nproc-per-node local ranks, or as one rank of a torchrun-style job.
#include <algorithm>
#include <chrono>
#include <iostream>

#include "command.h"
#include "common/error.h"
#include "config/train_config.h"
#include "train/distributed/env.h"
#include "train/distributed/launcher.h"
#include "train/run.h"

namespace adallava::cli {
namespace {

struct TrainArgs {
  std::vector<std::string> configs;
  std::vector<std::string> overrides;
  std::string resume;
  bool dump_config = false;
  int nproc_per_node = 1;
};

int run_train(const TrainArgs& a, const GlobalOptions& global,
              const std::vector<std::string>& argv) {
  if (a.configs.empty())
    fail("--config is required (a recipe such as configs/train/demo-stage1.yaml)");
  config::check_override_arguments(a.overrides);
  std::vector<std::string> overrides = a.overrides;
  // --resume is an override of checkpointing.resume, so the run directory's config records it.
  if (!a.resume.empty()) overrides.push_back("checkpointing.resume=" + a.resume);
  if (a.nproc_per_node < 1) fail("--nproc-per-node {}: must be at least 1", a.nproc_per_node);
  // Checked for the job's world size (global batch divisible by micro x world) here, so a config
  // error surfaces once, before any rank starts.
  const int64_t world = a.nproc_per_node > 1 ? a.nproc_per_node
                                             : train::DistributedEnv::from_environment().world_size;
  config::ResolvedConfig resolved = config::resolve_train_config(a.configs, overrides, world);
  if (a.dump_config) {
    std::cout << resolved.to_yaml(argv);
    return 0;
  }
  if (a.nproc_per_node > 1) {
    const config::TrainConfig cfg = config::to_train_config(resolved);
    train::LaunchOptions launch;
    // Long enough for a surviving rank to notice the failure and finish a checkpoint write.
    launch.grace_period = std::min<std::chrono::milliseconds>(
        std::chrono::seconds(cfg.distributed.timeout_seconds), std::chrono::seconds(120));
    return train::launch_local_ranks(
        a.nproc_per_node, train::command_line_without_option("--nproc-per-node"), launch);
  }
  train::RunOptions options;
  options.command_line = argv;
  options.threads_override = global.threads;
  return train::run_training(resolved, options);
}

const RegisterCommand kRegister{
    "train", "Train LLaVA from YAML recipes (configs/train/*.yaml)", 30,
    [](CLI::App& app, const GlobalOptions& global) -> std::function<int()> {
      auto args = std::make_shared<TrainArgs>();
      app.add_option("-c,--config", args->configs,
                     "YAML recipe; repeat to layer files (later files win key by key)")
          ->allow_extra_args(false);  // one file per --config: overrides may follow
      app.add_option("overrides", args->overrides, "section.key=value overrides, applied in order");
      app.add_option(
          "--resume", args->resume,
          "Continue from a checkpoint directory, or 'auto' for the newest in output_dir");
      app.add_flag("--dump-config", args->dump_config, "Print the resolved config and exit");
      app.add_option("--nproc-per-node", args->nproc_per_node,
                     "Data-parallel processes on this machine (started by this process, which "
                     "waits for them; see docs/distributed.md)");
      return [args, &global] {
        std::vector<std::string> argv = {"adallava train"};
        for (const auto& c : args->configs) argv.push_back("--config " + c);
        for (const auto& o : args->overrides) argv.push_back(o);
        if (!args->resume.empty()) argv.push_back("--resume " + args->resume);
        return run_train(*args, global, {fmt::format("{}", fmt::join(argv, " "))});
      };
    }};

}  // namespace
}  // namespace adallava::cli
