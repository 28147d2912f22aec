// Data-parallel training on 2 ranks (this executable re-executed with RANK/WORLD_SIZE set) equals
// a single process over the whole batch: SGD and Adam, bucketed and unbucketed, with and without
// overlap, and gradient accumulation with no_sync. The reference is an independent plain LibTorch
// loop in the parent process.
#include <cmath>
#include <fstream>
#include <iostream>

#include <fmt/format.h>
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "support/paths.h"
#include "test_dist_support.h"
#include "train/distributed/communicator.h"
#include "train/distributed/data_parallel.h"
#include "train/distributed/env.h"

using namespace adallava;
using namespace adallava::train;

namespace {

constexpr int kSteps = 5;
constexpr int kGlobalBatch = 8;
constexpr int kInputs = 6;
constexpr int kOutputs = 3;

struct Setup {
  std::string name;
  std::string optimizer;  // "sgd" or "adam"
  double bucket_cap_mb;
  bool overlap;
  int accum;  // micro-steps per update on each rank
  torch::Dtype dtype;
  bool synchronize = true;  // false: each rank trains alone on its half (must NOT match)
  // Reduction::kSum with the loss summed over rows and the gradient divided by the global row
  // count (the trainer's token-weighted scheme), on an uneven 3 + 5 row split.
  bool sum_of_uneven_shards = false;
};

// 6 parameters of 4..96 elements; a 512-byte cap gives several buckets.
std::vector<Setup> setups() {
  return {
      {"sgd_one_bucket", "sgd", 25.0, true, 1, torch::kDouble},
      {"sgd_unbucketed", "sgd", 0.0, true, 1, torch::kDouble},
      {"adam_small_buckets", "adam", 512.0 / (1 << 20), true, 1, torch::kDouble},
      {"adam_unbucketed_no_overlap", "adam", 0.0, false, 1, torch::kDouble},
      {"adam_no_sync_accum2", "adam", 512.0 / (1 << 20), true, 2, torch::kDouble},
      {"sgd_float32_accum2", "sgd", 25.0, true, 2, torch::kFloat},
      {"adam_unsynchronized", "adam", 25.0, true, 1, torch::kDouble, false},
      {"adam_sum_uneven_3_5", "adam", 512.0 / (1 << 20), true, 1, torch::kDouble, true, true},
  };
}

// `gate` only acts on rows of the first half of the global batch, so on rank 1 it never gets a
// gradient (its grad must become the mean with zeros); `unused` never gets one anywhere.
struct TinyNetImpl : torch::nn::Module {
  explicit TinyNetImpl(torch::Dtype dtype) {
    hidden = register_module("hidden", torch::nn::Linear(kInputs, 16));
    out = register_module("out", torch::nn::Linear(16, kOutputs));
    gate = register_parameter("gate", torch::full({kOutputs}, 0.1));
    unused = register_parameter("unused", torch::ones({4}));
    to(dtype);
  }
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& gate_rows) {
    auto y = out(torch::tanh(hidden(x)));
    if (gate_rows.any().item<bool>()) y = y + gate_rows.unsqueeze(1) * gate;
    return y;
  }
  torch::nn::Linear hidden{nullptr}, out{nullptr};
  torch::Tensor gate, unused;
};
TORCH_MODULE(TinyNet);

struct Batch {
  torch::Tensor x, y, gate_rows;
};

Batch global_batch(int step, torch::Dtype dtype) {
  auto generator = at::detail::createCPUGenerator(1000 + step);
  Batch b;
  b.x = torch::randn({kGlobalBatch, kInputs}, generator, torch::kDouble).to(dtype);
  b.y = torch::randn({kGlobalBatch, kOutputs}, generator, torch::kDouble).to(dtype);
  b.gate_rows = (torch::arange(kGlobalBatch) < kGlobalBatch / 2).to(dtype);
  return b;
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const Setup& s, TinyNet& net) {
  if (s.optimizer == "adam") {
    return std::make_unique<torch::optim::Adam>(net->parameters(), torch::optim::AdamOptions(1e-2));
  }
  return std::make_unique<torch::optim::SGD>(net->parameters(),
                                             torch::optim::SGDOptions(0.1).momentum(0.9));
}

TinyNet fresh_net(torch::Dtype dtype) {
  torch::manual_seed(7);
  return TinyNet(dtype);
}

// The reference: one process, the whole global batch per update.
std::vector<torch::Tensor> train_single_process(const Setup& s) {
  TinyNet net = fresh_net(s.dtype);
  auto optimizer = make_optimizer(s, net);
  for (int step = 0; step < kSteps; ++step) {
    const Batch b = global_batch(step, s.dtype);
    optimizer->zero_grad();
    torch::mse_loss(net->forward(b.x, b.gate_rows), b.y).backward();
    optimizer->step();
  }
  std::vector<torch::Tensor> params;
  for (auto& p : net->parameters()) params.push_back(p.detach().clone());
  return params;
}

double max_abs_diff(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  REQUIRE(a.size() == b.size());
  double diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    REQUIRE(a[i].sizes() == b[i].sizes());
    diff = std::max(diff,
                    (a[i].to(torch::kDouble) - b[i].to(torch::kDouble)).abs().max().item<double>());
  }
  return diff;
}

std::string params_file(const std::string& dir, const std::string& name, int rank) {
  return dir + "/" + name + "_rank" + std::to_string(rank) + ".pt";
}

}  // namespace

// ---- worker side (runs in each rank) ----

TEST_CASE("dp worker: train every setup", "[.]") {
  torch::set_num_threads(1);
  const std::string dir = test::env_or("ADALLAVA_DIST_TEST_DIR", ".");
  const DistributedEnv env = DistributedEnv::from_environment();
  REQUIRE(env.world_size == 2);
  ProcessGroupOptions options;
  options.timeout = std::chrono::seconds(20);
  auto comm = Communicator::connect(env, options);
  const int rows_per_rank = kGlobalBatch / env.world_size;

  for (const Setup& s : setups()) {
    INFO(s.name);
    TinyNet net = fresh_net(s.dtype);
    if (env.rank == 1) {  // a different start: only the broadcast can make the ranks agree
      torch::NoGradGuard no_grad;
      for (auto& p : net->parameters()) p.add_(0.5);
    }
    auto optimizer = make_optimizer(s, net);
    DataParallelOptions dp_options{s.bucket_cap_mb, s.overlap};
    if (s.sum_of_uneven_shards) dp_options.reduction = DataParallelOptions::Reduction::kSum;
    DataParallel dp(comm, net->parameters(), dp_options);
    dp.broadcast_parameters();

    for (int step = 0; step < kSteps; ++step) {
      const Batch b = global_batch(step, s.dtype);
      optimizer->zero_grad();
      if (s.sum_of_uneven_shards) {
        const int first = env.rank == 0 ? 0 : 3, rows = env.rank == 0 ? 3 : 5;
        auto mean = torch::mse_loss(
            net->forward(b.x.narrow(0, first, rows), b.gate_rows.narrow(0, first, rows)),
            b.y.narrow(0, first, rows));
        (mean * rows).backward();
        dp.synchronize_gradients();
        const double global_rows = dp.all_reduce_sum(static_cast<double>(rows));
        CHECK(global_rows == kGlobalBatch);
        torch::NoGradGuard no_grad;
        for (auto& p : net->parameters()) {
          if (p.grad().defined()) p.mutable_grad().div_(global_rows);
        }
      } else {
        const int micro_rows = rows_per_rank / s.accum;
        for (int micro = 0; micro < s.accum; ++micro) {
          const int first = env.rank * rows_per_rank + micro * micro_rows;
          const bool local_only = micro + 1 < s.accum || !s.synchronize;
          auto guard = local_only ? dp.no_sync() : DataParallel::NoSyncGuard{};
          auto loss = torch::mse_loss(net->forward(b.x.narrow(0, first, micro_rows),
                                                   b.gate_rows.narrow(0, first, micro_rows)),
                                      b.y.narrow(0, first, micro_rows)) /
                      s.accum;
          loss.backward();
        }
        if (s.synchronize) dp.synchronize_gradients();
      }
      if (s.synchronize) {
        CHECK(net->gate.grad().defined());          // rank 1 never used it: mean with zeros
        CHECK_FALSE(net->unused.grad().defined());  // no rank used it: stays undefined
      }
      optimizer->step();
    }
    if (s.synchronize) {
      const auto& stats = dp.stats();
      // no_sync: one all-reduce per bucket per update, none for the accumulation micro-steps.
      CHECK(stats.collectives == kSteps * dp.num_buckets());
      CHECK(stats.synchronizations == kSteps);
      if (s.overlap && dp.num_buckets() > 1) CHECK(stats.launched_during_backward > 0);
      if (!s.overlap) CHECK(stats.launched_during_backward == 0);
      if (s.bucket_cap_mb == 0) CHECK(dp.num_buckets() == 6);
      if (s.bucket_cap_mb >= 1) CHECK(dp.num_buckets() == 1);
      if (s.bucket_cap_mb > 0 && s.bucket_cap_mb < 0.001) CHECK(dp.num_buckets() > 1);
    }
    std::vector<torch::Tensor> params;
    for (auto& p : net->parameters()) params.push_back(p.detach().clone());
    torch::save(params, params_file(dir, s.name, env.rank));
  }

  // Logging scalars: sums, and the global token mean (not the mean of per-rank means).
  DataParallel dp(comm, {}, {});
  CHECK(dp.all_reduce_sum(env.rank + 1.0) == 3.0);
  CHECK(dp.all_reduce_mean(env.rank + 1.0) == 1.5);
  CHECK(dp.all_reduce_sum(std::vector<double>{1.0, env.rank * 2.0}) == std::vector<double>{2, 2});
  const double loss_sum = env.rank == 0 ? 2.0 : 9.0;  // mean losses 0.5 and 1.5
  const double tokens = env.rank == 0 ? 4.0 : 6.0;
  CHECK(global_token_mean(*comm, loss_sum, tokens) == Approx(1.1).epsilon(1e-12));
  CHECK(std::isnan(global_token_mean(*comm, 0.0, 0.0)));
  const auto gathered =
      comm->all_gather(torch::full({3}, env.rank * 10 + 1.0, torch::kDouble), "test gather");
  REQUIRE(gathered.size() == 2);
  CHECK(gathered[0].equal(torch::full({3}, 1.0, torch::kDouble)));
  CHECK(gathered[1].equal(torch::full({3}, 11.0, torch::kDouble)));
  dp.barrier();
}

// ---- parent side ----

TEST_CASE("2-rank data-parallel training equals one process over the global batch") {
  const std::string dir = test::scratch_dir("dist_data_parallel");
  LaunchOptions options;
  options.grace_period = std::chrono::seconds(5);
  int code = -1;
  try {
    code = test::run_ranks(2, "dp worker: train every setup", dir, options);
  } catch (const Error& e) {
    FAIL(e.what() << "\n" << test::rank_logs(dir + "/logs", 2));
  }
  REQUIRE(code == 0);

  for (const Setup& s : setups()) {
    INFO(s.name);
    const auto reference = train_single_process(s);
    for (int rank = 0; rank < 2; ++rank) {
      INFO("rank " << rank);
      std::vector<torch::Tensor> trained;
      torch::load(trained, params_file(dir, s.name, rank));
      const double diff = max_abs_diff(trained, reference);
      INFO("max |data parallel - single process| = " << diff);
      if (!s.synchronize) {
        CHECK(diff > 1e-3);  // the comparison can tell unsynchronised training apart
      } else if (s.dtype == torch::kFloat) {
        CHECK(diff <= 1e-6);
      } else {
        CHECK(diff <= 1e-12);
      }
    }
  }
}

TEST_CASE("a world of one: every call is a local no-op") {
  auto comm = Communicator::single_process();
  TinyNet net = fresh_net(torch::kDouble);
  DataParallel dp(comm, net->parameters(), {});
  dp.broadcast_parameters();
  const Batch b = global_batch(0, torch::kDouble);
  torch::mse_loss(net->forward(b.x, b.gate_rows), b.y).backward();
  const auto before = net->out->weight.grad().clone();
  dp.synchronize_gradients();
  CHECK(torch::equal(net->out->weight.grad(), before));
  CHECK(dp.num_buckets() == 0);
  CHECK(dp.all_reduce_sum(2.5) == 2.5);
  CHECK(global_token_mean(*comm, 3.0, 4.0) == 0.75);
  CHECK(dp.is_main());
}

// ---- benchmark (hidden; run with: test_train_dist_data_parallel "dp benchmark") ----

namespace {

// The gradient set of the demo model (configs/train/demo-stage1.yaml): 8 LLM blocks of width
// 256 with 688-wide MLPs, a 4000-token embedding and head; about 8.4 M parameters, 34 MB of
// float32 gradients. Linear stacks stand in for attention: the point is the gradient volume and
// a realistic compute-to-communication ratio, not the model.
struct BenchNetImpl : torch::nn::Module {
  BenchNetImpl() {
    embed = register_module("embed", torch::nn::Embedding(4000, 256));
    for (int i = 0; i < 8; ++i) {
      auto block = torch::nn::Sequential(torch::nn::Linear(256, 1024), torch::nn::Linear(1024, 256),
                                         torch::nn::Linear(256, 688), torch::nn::GELU(),
                                         torch::nn::Linear(688, 256));
      blocks.push_back(register_module("block" + std::to_string(i), block));
    }
    head = register_module("head", torch::nn::Linear(256, 4000));
  }
  torch::Tensor forward(const torch::Tensor& tokens) {
    auto h = embed(tokens);
    for (auto& block : blocks) h = h + block->forward(h);
    return head(h);
  }
  torch::nn::Embedding embed{nullptr};
  std::vector<torch::nn::Sequential> blocks;
  torch::nn::Linear head{nullptr};
};
TORCH_MODULE(BenchNet);

}  // namespace

TEST_CASE("dp benchmark worker", "[.]") {
  torch::set_num_threads(1);
  const int global_sequences = 16, sequence_length = 32, steps = 6, warmup = 2;
  const DistributedEnv env = DistributedEnv::from_environment();
  auto comm = Communicator::connect(env, ProcessGroupOptions{});
  const double cap = std::stod(test::env_or("BENCH_BUCKET_MB", "25"));
  const bool overlap = test::env_or("BENCH_OVERLAP", "1") == "1";
  torch::manual_seed(0);
  BenchNet net;
  torch::optim::SGD optimizer(net->parameters(), 1e-3);
  DataParallel dp(comm, net->parameters(), {cap, overlap});
  dp.broadcast_parameters();
  const int sequences = global_sequences / env.world_size;
  auto tokens = torch::randint(4000, {sequences, sequence_length});
  double step_seconds = 0;
  for (int step = 0; step < steps; ++step) {
    if (step == warmup) dp.reset_stats();
    const auto start = std::chrono::steady_clock::now();
    optimizer.zero_grad();
    auto logits = net->forward(tokens);
    torch::nn::functional::cross_entropy(logits.reshape({-1, 4000}), tokens.reshape({-1}))
        .backward();
    dp.synchronize_gradients();
    optimizer.step();
    if (step >= warmup) {
      step_seconds +=
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
  }
  const int measured = steps - warmup;
  const auto& s = dp.stats();
  int64_t params = 0;
  for (auto& p : net->parameters()) params += p.numel();
  if (env.is_main()) {
    std::ofstream out(test::env_or("ADALLAVA_DIST_TEST_DIR", ".") + "/bench.txt");
    out << fmt::format(
        "procs={} bucket_mb={} overlap={} params={} buckets={} step_s={:.3f} samples_per_s={:.2f} "
        "sync_s={:.3f} sync_share={:.1f}% hook_s={:.3f} hook_share={:.1f}% "
        "launched_in_backward={}/{}\n",
        env.world_size, cap, overlap, params, dp.num_buckets(), step_seconds / measured,
        global_sequences * measured / step_seconds, s.sync_seconds / measured,
        100 * s.sync_seconds / step_seconds, s.hook_seconds / measured,
        100 * s.hook_seconds / step_seconds, s.launched_during_backward, s.collectives);
  }
}

TEST_CASE("dp benchmark", "[.]") {
  struct Run {
    int procs;
    std::string bucket_mb;
    std::string overlap;
  };
  for (const Run& run : {Run{1, "25", "1"}, Run{2, "25", "1"}, Run{2, "25", "0"}, Run{2, "4", "1"},
                         Run{2, "4", "0"}, Run{2, "0", "1"}}) {
    const std::string dir = test::scratch_dir("dist_bench");
    LaunchOptions options;
    options.extra_env = {{"BENCH_BUCKET_MB", run.bucket_mb},
                         {"BENCH_OVERLAP", run.overlap},
                         {"OMP_NUM_THREADS", "1"}};
    REQUIRE(test::run_ranks(run.procs, "dp benchmark worker", dir, options) == 0);
    std::cout << test::slurp(dir + "/bench.txt") << std::flush;
  }
}
