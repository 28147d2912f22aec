// Data-parallel gradient synchronisation over a Communicator, in the manner of PyTorch DDP:
// parameters broadcast from rank 0, gradients averaged over ranks with bucketed all-reduce that
// starts while backward is still running, and no_sync() for gradient-accumulation micro-steps.
//
//   auto comm = Communicator::connect(DistributedEnv::from_environment(), options);
//   DataParallel dp(comm, model->parameters(), {/*bucket_cap_mb=*/25});
//   dp.broadcast_parameters();
//   for (micro = 0; micro < accum; ++micro) {
//     auto guard = micro + 1 < accum ? dp.no_sync() : DataParallel::NoSyncGuard{};
//     loss(micro).backward();          // last micro-step: buckets all-reduce during backward
//   }
//   dp.synchronize_gradients();        // every .grad is now the mean over ranks
//   clip, optimizer.step(), zero_grad
//
// With a world of one every call returns at once and gradients are untouched.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <torch/types.h>

#include "train/distributed/communicator.h"

namespace adallava::train {

struct DataParallelOptions {
  // Gradients are flattened into buckets of about this size, one all-reduce each. 0 gives one
  // bucket per parameter (unbucketed).
  double bucket_cap_mb = 25.0;
  // Launch a bucket's all-reduce from the gradient hooks as soon as its last gradient is
  // accumulated; off: everything is reduced in synchronize_gradients().
  bool overlap_with_backward = true;
  // kMean divides the summed gradients by the world size (DDP). kSum leaves the sum, for losses
  // the caller normalises itself, e.g. by the global token count of the update (see
  // docs/distributed.md): backward on sum(per-token loss), then grad /= all_reduce_sum(tokens).
  enum class Reduction { kMean, kSum };
  Reduction reduction = Reduction::kMean;
};

struct GradientSyncStats {
  int64_t synchronizations = 0;
  int64_t collectives = 0;
  int64_t launched_during_backward = 0;  // of the collectives: started from a gradient hook
  int64_t bytes_reduced = 0;
  double hook_seconds = 0;  // inside backward: copying gradients into buckets and launching
  double sync_seconds = 0;  // inside synchronize_gradients() (the exposed communication)
  double wait_seconds = 0;  // of which blocked on collectives still in flight
};

class DataParallel {
 public:
  // `parameters`: every parameter of the model (duplicates, e.g. tied weights, are taken once).
  // All are broadcast; those requiring grad at construction are synchronised.
  DataParallel(std::shared_ptr<Communicator> communicator, std::vector<torch::Tensor> parameters,
               DataParallelOptions options = {});
  ~DataParallel();
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  int rank() const { return communicator_->rank(); }
  int world_size() const { return communicator_->world_size(); }
  bool is_main() const { return communicator_->is_main(); }
  Communicator& communicator() { return *communicator_; }

  // Copies rank 0's parameter values to every rank (start of training; after a resume every rank
  // loads the checkpoint itself, the broadcast then only guards against divergence).
  void broadcast_parameters();

  // While a guard is alive, backward passes only accumulate into .grad locally.
  class NoSyncGuard {
   public:
    NoSyncGuard() = default;  // inactive: gradients synchronise
    NoSyncGuard(NoSyncGuard&& other) noexcept;
    NoSyncGuard& operator=(NoSyncGuard&& other) noexcept;
    ~NoSyncGuard();

   private:
    friend class DataParallel;
    explicit NoSyncGuard(DataParallel* owner);
    DataParallel* owner_ = nullptr;
  };
  NoSyncGuard no_sync();
  bool gradient_sync_enabled() const { return sync_enabled_; }

  // Call once after the backward pass(es) of an optimizer step, before clipping and the step:
  // waits for in-flight buckets, reduces the rest, and leaves each .grad the mean (or, with
  // Reduction::kSum, the sum) over ranks.
  // A parameter without a gradient on every rank keeps an undefined .grad (as a single process
  // over the whole batch would); one with a gradient on some ranks gets the mean with zeros.
  void synchronize_gradients();

  // Scalars for logging, summed over ranks (every rank gets the result).
  double all_reduce_sum(double value);
  std::vector<double> all_reduce_sum(const std::vector<double>& values);
  double all_reduce_mean(double value);
  void barrier(const std::string& what = "barrier");

  int64_t num_buckets() const;
  const GradientSyncStats& stats() const { return stats_; }
  void reset_stats() { stats_ = {}; }

  struct Impl;  // buckets and hooks (data_parallel.cpp)

 private:
  friend struct GradientReadyHook;
  // Called by the autograd engine once parameter `index`'s gradient has been accumulated.
  void gradient_ready(int64_t index);

  std::shared_ptr<Communicator> communicator_;
  std::unique_ptr<Impl> impl_;
  bool sync_enabled_ = true;
  int no_sync_depth_ = 0;
  GradientSyncStats stats_;
};

// Loss averaged over every token of every rank: sum(local_loss_sum) / sum(local_tokens). Ranks
// with fewer target tokens weigh less, unlike a mean of per-rank means. NaN when no rank had a
// token. `local_loss_sum` is the per-token loss summed (mean loss * token count).
double global_token_mean(Communicator& communicator, double local_loss_sum, double local_tokens);

// Copies `root`'s values of `tensors` to every rank, flattened into a few messages per dtype.
void broadcast_tensors(Communicator& communicator, const std::vector<torch::Tensor>& tensors,
                       int root, const std::string& what);

}  // namespace adallava::train
