// Batches of one rank, built ahead of the training step by worker threads (image decoding and
// preprocessing, tokenization), handed out strictly in sampler order: the batches depend only on
// the dataset, the options, the epoch and the position, never on the number of workers.
//
//   BatchLoader loader(dataset, options);
//   loader.restore(saved_position);            // when resuming
//   while (auto batch = loader.next()) step(*batch);   // one epoch; the next call starts the next
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "train/data/batch.h"
#include "train/data/dataset.h"
#include "train/data/sampler.h"

namespace adallava::train {

// Saved with a checkpoint: restore() continues with exactly the batches that would have come.
struct LoaderPosition {
  int64_t epoch = 0;
  int64_t batches_consumed = 0;  // batches of `epoch` already returned by next()
  uint64_t seed = 0;
};

struct LoaderOptions {
  SamplerOptions sampler;
  int64_t num_workers = 0;  // 0 = build each batch inside next()
  int64_t prefetch = 2;     // batches built ahead (at least 1 when num_workers > 0)
};

class BatchLoader {
 public:
  BatchLoader(std::shared_ptr<const InstructionDataset> dataset, LoaderOptions options);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  // The next batch of the current epoch, or nullopt once at its end (the position then moves to
  // the start of the next epoch). With data.bad_record_policy=fail an image that cannot be
  // decoded is an Error naming file, index, id and image; with skip its record is left out of the
  // batch and counted (a batch left empty is passed over).
  std::optional<TrainBatch> next();

  LoaderPosition position() const;
  // Continue from `position` (its seed replaces the options' seed). Prefetched work is dropped.
  void restore(const LoaderPosition& position);

  int64_t batches_per_epoch() const { return batches_per_epoch_; }
  // Records left out by the skip policy while loading images so far.
  int64_t skipped_images() const;
  const InstructionDataset& dataset() const { return *dataset_; }

 private:
  // Batch `k` of `epoch` (sequence number epoch * batches_per_epoch + k).
  struct Built {
    std::optional<TrainBatch> batch;
    std::exception_ptr error;
  };
  Built build(int64_t sequence);
  const std::vector<std::vector<int64_t>>& batches_of_epoch(int64_t epoch);
  void start_workers();
  void stop_workers();
  void worker_loop();

  std::shared_ptr<const InstructionDataset> dataset_;
  LoaderOptions options_;
  int64_t batches_per_epoch_ = 0;

  mutable std::mutex mutex_;
  std::condition_variable work_ready_;   // workers wait for room in the prefetch window
  std::condition_variable batch_ready_;  // next() waits for its batch
  int64_t consumed_ = 0;                 // sequence number of the next batch to hand out
  int64_t next_to_build_ = 0;
  bool epoch_end_pending_ = false;  // all batches of the epoch returned, nullopt not yet
  std::map<int64_t, Built> ready_;
  std::map<int64_t, std::vector<std::vector<int64_t>>> epoch_cache_;
  bool stopping_ = false;
  int64_t skipped_images_ = 0;
  std::vector<std::thread> workers_;
};

}  // namespace adallava::train
