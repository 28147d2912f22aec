// Torchrun environment validation, backend choice, rendezvous failures (a peer that never
// arrives, an unreachable master) and the --nproc-per-node launcher (environment of each rank,
// a failing rank named and the others stopped, signal forwarding).
#include <csignal>
#include <map>
#include <thread>

#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "common/error.h"
#include "config/train_config.h"
#include "support/paths.h"
#include "test_dist_support.h"
#include "train/distributed/communicator.h"
#include "train/distributed/env.h"
#include "train/distributed/launcher.h"

using namespace adallava;
using namespace adallava::train;
using Catch::Matchers::Contains;

namespace {

DistributedEnv env_from(const std::map<std::string, std::string>& vars) {
  return DistributedEnv::from_lookup([&](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  });
}

const std::map<std::string, std::string> kValid = {{"RANK", "1"},
                                                   {"WORLD_SIZE", "4"},
                                                   {"LOCAL_RANK", "1"},
                                                   {"MASTER_ADDR", "node0"},
                                                   {"MASTER_PORT", "29500"}};

std::map<std::string, std::string> with(std::map<std::string, std::string> vars,
                                        const std::string& name, const std::string& value) {
  vars[name] = value;
  return vars;
}

std::map<std::string, std::string> without(std::map<std::string, std::string> vars,
                                           const std::string& name) {
  vars.erase(name);
  return vars;
}

ProcessGroupOptions short_timeout(int seconds) {
  ProcessGroupOptions options;
  options.timeout = std::chrono::seconds(seconds);
  return options;
}

}  // namespace

TEST_CASE("no torchrun variables: a single process") {
  const DistributedEnv env = env_from({});
  CHECK(env.world_size == 1);
  CHECK(env.rank == 0);
  CHECK_FALSE(env.distributed());
  CHECK(env.is_main());
  // WORLD_SIZE=1 alone needs no rendezvous.
  CHECK_FALSE(env_from({{"WORLD_SIZE", "1"}, {"RANK", "0"}}).distributed());
}

TEST_CASE("a complete torchrun environment is read") {
  const DistributedEnv env = env_from(kValid);
  CHECK(env.rank == 1);
  CHECK(env.world_size == 4);
  CHECK(env.local_rank == 1);
  CHECK(env.master_addr == "node0");
  CHECK(env.master_port == 29500);
  CHECK(env.distributed());
  CHECK_FALSE(env.is_main());
  CHECK(env.describe() == "rank 1/4");
  // LOCAL_RANK is optional (a hand-written multi-machine launch): it defaults to RANK.
  CHECK(env_from(without(kValid, "LOCAL_RANK")).local_rank == 1);
}

TEST_CASE("inconsistent torchrun environments are errors naming the variable") {
  CHECK_THROWS_WITH(env_from(without(kValid, "WORLD_SIZE")),
                    Contains("WORLD_SIZE is not set") && Contains("RANK is"));
  CHECK_THROWS_WITH(env_from(without(kValid, "RANK")), Contains("RANK is not set"));
  CHECK_THROWS_WITH(env_from(without(kValid, "MASTER_ADDR")),
                    Contains("MASTER_ADDR is not set") && Contains("WORLD_SIZE=4"));
  CHECK_THROWS_WITH(env_from(without(kValid, "MASTER_PORT")), Contains("MASTER_PORT is not set"));
  CHECK_THROWS_WITH(env_from(with(kValid, "RANK", "4")),
                    Contains("RANK=4") && Contains("out of range [0, 3]"));
  CHECK_THROWS_WITH(env_from(with(kValid, "RANK", "-1")), Contains("RANK=-1"));
  CHECK_THROWS_WITH(env_from(with(kValid, "WORLD_SIZE", "two")),
                    Contains("WORLD_SIZE='two' is not an integer"));
  CHECK_THROWS_WITH(env_from(with(kValid, "WORLD_SIZE", "0")), Contains("WORLD_SIZE=0"));
  CHECK_THROWS_WITH(env_from(with(kValid, "MASTER_PORT", "70000")),
                    Contains("MASTER_PORT=70000") && Contains("out of range"));
  CHECK_THROWS_WITH(env_from(with(kValid, "MASTER_PORT", "29500x")),
                    Contains("MASTER_PORT='29500x' is not an integer"));
  CHECK_THROWS_WITH(env_from(with(kValid, "LOCAL_RANK", "9")), Contains("LOCAL_RANK=9"));
  CHECK_THROWS_WITH(env_from(with(kValid, "MASTER_ADDR", "")), Contains("MASTER_ADDR is not set"));
}

TEST_CASE("the backend comes from distributed.backend; nccl is refused clearly") {
  config::DistributedConfig config;
  config.backend = "nccl";
  config.timeout_seconds = 7;
  const ProcessGroupOptions options = process_group_options(config);
  CHECK(options.timeout == std::chrono::seconds(7));
  CHECK_THROWS_WITH(Communicator::connect(DistributedEnv{}, options),
                    Contains("'nccl'") && Contains("no NCCL") && Contains("gloo"));
  ProcessGroupOptions mpi;
  mpi.backend = "mpi";
  CHECK_THROWS_WITH(Communicator::connect(DistributedEnv{}, mpi),
                    Contains("'mpi' is not supported"));
  config.backend = "gloo";
  CHECK(Communicator::connect(DistributedEnv{}, process_group_options(config))->world_size() == 1);
}

TEST_CASE("a peer that never arrives is an error naming it, after the time-out") {
  DistributedEnv env;
  env.world_size = 3;
  env.rank = 0;
  env.master_addr = "127.0.0.1";
  env.master_port = find_free_port();
  CHECK_THROWS_WITH(Communicator::connect(env, short_timeout(2)),
                    Contains("rank(s) 1, 2 did not join") && Contains("within 2 s"));
}

TEST_CASE("a master that is not there is an error naming MASTER_ADDR:MASTER_PORT") {
  DistributedEnv env;
  env.world_size = 2;
  env.rank = 1;
  env.master_addr = "127.0.0.1";
  env.master_port = find_free_port();
  CHECK_THROWS_WITH(Communicator::connect(env, short_timeout(2)),
                    Contains("rank 1/2 could not reach the rendezvous store at 127.0.0.1:") &&
                        Contains("MASTER_ADDR:MASTER_PORT"));
}

// ---- launcher ----

TEST_CASE("launch worker: check the environment", "[.]") {
  const DistributedEnv env = DistributedEnv::from_environment();
  REQUIRE(env.world_size == 3);
  REQUIRE(env.local_rank == env.rank);
  REQUIRE(env.master_addr == "127.0.0.1");
  REQUIRE(env.master_port > 0);
  REQUIRE(test::env_or("LOCAL_WORLD_SIZE", "") == "3");
  REQUIRE(test::env_or("ADALLAVA_DIST_TEST_DIR", "").size() > 0);
  // Each rank leaves a mark, so the parent sees every rank ran.
  std::ofstream(test::env_or("ADALLAVA_DIST_TEST_DIR", ".") + "/ran_" + std::to_string(env.rank))
      << env.rank;
}

TEST_CASE("launch worker: rank 1 fails while rank 0 waits", "[.]") {
  const DistributedEnv env = DistributedEnv::from_environment();
  if (env.rank == 1) std::exit(3);
  std::this_thread::sleep_for(std::chrono::seconds(60));  // stopped by the launcher
}

TEST_CASE("launch worker: sleep", "[.]") {
  std::this_thread::sleep_for(std::chrono::seconds(60));
}

TEST_CASE("the launcher gives each rank the torchrun environment and returns 0") {
  const std::string dir = test::scratch_dir("dist_launch_env");
  LaunchReport report;
  int code = -1;
  try {
    code = test::run_ranks(3, "launch worker: check the environment", dir, {}, &report);
  } catch (const Error& e) {
    FAIL(e.what() << "\n" << test::rank_logs(dir + "/logs", 3));
  }
  CHECK(code == 0);
  REQUIRE(report.ranks.size() == 3);
  for (int rank = 0; rank < 3; ++rank) {
    CHECK(report.ranks[rank].succeeded());
    CHECK(std::filesystem::exists(dir + "/ran_" + std::to_string(rank)));
  }
}

TEST_CASE("a failing rank is named and the others are stopped after the grace period") {
  const std::string dir = test::scratch_dir("dist_launch_fail");
  LaunchOptions options;
  options.grace_period = std::chrono::milliseconds(500);
  options.kill_after = std::chrono::seconds(2);
  LaunchReport report;
  CHECK_THROWS_WITH(
      test::run_ranks(2, "launch worker: rank 1 fails while rank 0 waits", dir, options, &report),
      Contains("rank 1 (pid") && Contains("exited with status 3") &&
          Contains("stopped by the launcher"));
  REQUIRE(report.ranks.size() == 2);
  CHECK(report.first_failed_rank == 1);
  CHECK(report.ranks[1].exit_code == 3);
  CHECK_FALSE(report.ranks[1].signalled_by_launcher);
  CHECK(report.ranks[0].signalled_by_launcher);
  CHECK_FALSE(report.ranks[0].succeeded());
}

TEST_CASE("SIGTERM to the launcher is forwarded to every rank") {
  const std::string dir = test::scratch_dir("dist_launch_signal");
  LaunchOptions options;
  options.grace_period = std::chrono::seconds(5);
  LaunchReport report;
  std::thread interrupter([] {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    kill(getpid(), SIGTERM);
  });
  const int code = test::run_ranks(2, "launch worker: sleep", dir, options, &report);
  interrupter.join();
  CHECK(code == 128 + SIGTERM);
  CHECK(report.interrupted_by == SIGTERM);
  for (const auto& rank : report.ranks) {
    CHECK(rank.signalled_by_launcher);
    CHECK_FALSE(rank.succeeded());
  }
}

TEST_CASE("nested launches and bad process counts are refused") {
  CHECK_THROWS_WITH(launch_local_ranks(0, {"x"}), Contains("--nproc-per-node 0"));
  setenv("RANK", "0", 1);
  CHECK_THROWS_WITH(launch_local_ranks(2, {"x"}), Contains("nested launch"));
  unsetenv("RANK");
}

TEST_CASE("the re-executed command line drops --nproc-per-node and its value") {
  using Args = std::vector<std::string>;
  CHECK(without_option({"adallava", "train", "--nproc-per-node", "2", "--config", "x.yaml"},
                       "--nproc-per-node") == Args{"adallava", "train", "--config", "x.yaml"});
  CHECK(without_option({"adallava", "train", "--nproc-per-node=4", "--config", "x.yaml"},
                       "--nproc-per-node") == Args{"adallava", "train", "--config", "x.yaml"});
  CHECK(without_option({"adallava", "train"}, "--nproc-per-node") == Args{"adallava", "train"});
  // This executable's own command line (read from /proc) starts with its name.
  const auto args = command_line_without_option("--nproc-per-node");
  REQUIRE_FALSE(args.empty());
  CHECK(args[0].find("test_train_dist_env") != std::string::npos);
}
