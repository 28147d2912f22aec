// The process group of a data-parallel job: a c10d TCPStore rendezvous (rank 0 hosts it) and a
// collective backend (Gloo on this CPU build). c10d stays inside communicator.cpp; callers see
// tensors, ranks and adallava::Error. With world_size 1 every collective is a no-op, so the
// trainer calls the same code with or without a job around it.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

#include "train/distributed/env.h"

namespace adallava::config {
struct DistributedConfig;
}

namespace adallava::train {

struct ProcessGroupOptions {
  std::string backend = "gloo";  // "nccl" is refused: this LibTorch has no NCCL
  // Rendezvous (every rank must arrive) and each collective must finish within this.
  std::chrono::milliseconds timeout = std::chrono::seconds(1800);
  int backend_threads = 2;  // Gloo worker threads: two buckets can be in flight at once
};

ProcessGroupOptions process_group_options(const config::DistributedConfig& config);

// A collective launched asynchronously; wait() blocks until it finished on this rank and turns a
// backend failure (peer died, timeout) into an adallava::Error naming the collective.
class PendingCollective {
 public:
  PendingCollective() = default;
  explicit PendingCollective(std::function<void()> wait) : wait_(std::move(wait)) {}
  void wait();
  bool pending() const { return static_cast<bool>(wait_); }

 private:
  std::function<void()> wait_;
};

class Communicator {
 public:
  // Rendezvous with the other ranks of `env` (no-op when env.world_size == 1). Rank 0 hosts the
  // store at MASTER_ADDR:MASTER_PORT; a rank that does not arrive within options.timeout is an
  // error naming it.
  static std::shared_ptr<Communicator> connect(const DistributedEnv& env,
                                               const ProcessGroupOptions& options);
  // A world of one, without any backend.
  static std::shared_ptr<Communicator> single_process();
  ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const { return env_.rank; }
  int world_size() const { return env_.world_size; }
  bool is_main() const { return env_.rank == 0; }
  const DistributedEnv& env() const { return env_; }
  std::chrono::milliseconds timeout() const { return options_.timeout; }

  // In-place element-wise sum over ranks of a dense contiguous CPU tensor. `what` names the
  // collective in error messages ("gradient bucket 3").
  PendingCollective all_reduce_sum_async(const torch::Tensor& tensor, const std::string& what);
  void all_reduce_sum(const torch::Tensor& tensor, const std::string& what);
  void all_reduce_max(const torch::Tensor& tensor, const std::string& what);
  // In-place: every rank ends with `root`'s contents.
  void broadcast(const torch::Tensor& tensor, int root, const std::string& what);
  void barrier(const std::string& what);
  // Every rank's copy of `tensor` (same shape and dtype on every rank), indexed by rank; e.g.
  // per-rank RNG states for rank 0 to checkpoint.
  std::vector<torch::Tensor> all_gather(const torch::Tensor& tensor, const std::string& what);

  // Once a collective failed the backend is in an unknown state (peers gone, queued work
  // pending); later collectives are refused and the backend is never torn down, since its
  // destructor would wait for the queued work, each piece up to the time-out.
  bool broken() const { return broken_; }

  struct Backend;  // c10d objects, defined in communicator.cpp

 private:
  Communicator(DistributedEnv env, ProcessGroupOptions options);
  void check_usable(const std::string& what) const;
  [[noreturn]] void fail_collective(const std::string& what, const std::string& reason);

  DistributedEnv env_;
  ProcessGroupOptions options_;
  std::unique_ptr<Backend> backend_;
  bool broken_ = false;
};

}  // namespace adallava::train
