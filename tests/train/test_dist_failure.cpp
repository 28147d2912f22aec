// A rank that dies or stalls mid-run must not leave the others hanging: they stop with an error
// naming the collective within distributed.timeout_seconds, the launcher names the failed rank.
// The launcher's grace period is set far beyond the time-out, so "rank 0 exited on its own
// (not signalled by the launcher)" is the observable proof that it did not hang.
#include <csignal>
#include <thread>

#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "common/error.h"
#include "support/paths.h"
#include "test_dist_support.h"
#include "train/distributed/communicator.h"
#include "train/distributed/data_parallel.h"
#include "train/distributed/env.h"
#include "train/distributed/launcher.h"

using namespace adallava;
using namespace adallava::train;
using Catch::Matchers::Contains;

namespace {

constexpr int kTimeoutSeconds = 4;

// Trains a small MLP data-parallel; at step 3 rank 1 misbehaves as `failure` says.
void train_until_rank1_fails(const std::string& failure) {
  torch::set_num_threads(1);
  const DistributedEnv env = DistributedEnv::from_environment();
  ProcessGroupOptions options;
  options.timeout = std::chrono::seconds(kTimeoutSeconds);
  auto comm = Communicator::connect(env, options);
  torch::manual_seed(0);
  torch::nn::Sequential net(torch::nn::Linear(8, 32), torch::nn::ReLU(), torch::nn::Linear(32, 4));
  torch::optim::SGD optimizer(net->parameters(), 0.01);
  DataParallel dp(comm, net->parameters(), {/*bucket_cap_mb=*/0.001});
  dp.broadcast_parameters();
  for (int step = 0; step < 1000; ++step) {
    if (step == 3 && env.rank == 1) {
      if (failure == "crash") std::_Exit(7);
      if (failure == "stall") raise(SIGSTOP);
    }
    optimizer.zero_grad();
    torch::mse_loss(net->forward(torch::randn({4, 8})), torch::zeros({4, 4})).backward();
    dp.synchronize_gradients();
    optimizer.step();
  }
  FAIL("rank " << env.rank << " finished 1000 steps although rank 1 failed at step 3");
}

LaunchOptions patient_launcher() {
  LaunchOptions options;
  options.grace_period = std::chrono::seconds(60);  // >> time-out: rank 0 must stop by itself
  options.kill_after = std::chrono::seconds(2);
  return options;
}

}  // namespace

TEST_CASE("failure worker: rank 1 crashes", "[.]") {
  train_until_rank1_fails("crash");
}
TEST_CASE("failure worker: rank 1 stalls", "[.]") {
  train_until_rank1_fails("stall");
}

TEST_CASE("a rank that crashes mid-run makes the other exit non-zero, naming the collective") {
  const std::string dir = test::scratch_dir("dist_failure_crash");
  LaunchReport report;
  CHECK_THROWS_WITH(
      test::run_ranks(2, "failure worker: rank 1 crashes", dir, patient_launcher(), &report),
      Contains("rank 1 (pid") && Contains("exited with status 7"));
  const std::string logs = test::rank_logs(dir + "/logs", 2);
  INFO(logs);
  REQUIRE(report.ranks.size() == 2);
  CHECK(report.first_failed_rank == 1);
  CHECK(report.ranks[1].exit_code == 7);
  CHECK(report.ranks[0].exit_code != 0);
  CHECK_FALSE(report.ranks[0].signalled_by_launcher);  // it stopped on its own
  const std::string rank0_log = test::slurp(dir + "/logs/rank_0.log");
  CHECK_THAT(rank0_log, Contains("distributed all-reduce of gradient bucket") &&
                            Contains("failed on rank 0/2"));
}

TEST_CASE("a rank that stalls makes the other time out and exit non-zero") {
  const std::string dir = test::scratch_dir("dist_failure_stall");
  LaunchOptions options = patient_launcher();
  options.grace_period = std::chrono::seconds(1);  // then the stopped rank 1 is killed
  LaunchReport report;
  const auto start = std::chrono::steady_clock::now();
  CHECK_THROWS_WITH(test::run_ranks(2, "failure worker: rank 1 stalls", dir, options, &report),
                    Contains("rank 0 (pid"));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::string logs = test::rank_logs(dir + "/logs", 2);
  INFO(logs << "\nlaunch took " << seconds << " s");
  REQUIRE(report.ranks.size() == 2);
  CHECK(report.first_failed_rank == 0);
  CHECK(report.ranks[0].exit_code != 0);
  CHECK_FALSE(report.ranks[0].signalled_by_launcher);
  CHECK(report.ranks[1].signalled_by_launcher);
  const std::string rank0_log = test::slurp(dir + "/logs/rank_0.log");
  CHECK_THAT(rank0_log,
             Contains("distributed all-reduce of gradient bucket") && Contains("time-out 4 s"));
}
