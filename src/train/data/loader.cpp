#include "train/data/loader.h"

#include <algorithm>

#include <torch/torch.h>

#include "common/error.h"
#include "common/log.h"

namespace adallava::train {

BatchLoader::BatchLoader(std::shared_ptr<const InstructionDataset> dataset, LoaderOptions options)
    : dataset_(std::move(dataset)), options_(std::move(options)) {
  ADALLAVA_CHECK(dataset_ != nullptr, "BatchLoader needs a dataset");
  ADALLAVA_CHECK(options_.num_workers >= 0, "data.num_workers {} < 0", options_.num_workers);
  options_.prefetch = std::max<int64_t>(options_.prefetch, 1);
  // Every epoch has the same number of batches; epoch 0 tells how many.
  batches_per_epoch_ = static_cast<int64_t>(batches_of_epoch(0).size());
  ADALLAVA_CHECK(batches_per_epoch_ > 0, "{}: no batches", dataset_->path());
  start_workers();
}

BatchLoader::~BatchLoader() {
  stop_workers();
}

const std::vector<std::vector<int64_t>>& BatchLoader::batches_of_epoch(int64_t epoch) {
  // Called with mutex_ held (or before the workers exist).
  auto it = epoch_cache_.find(epoch);
  if (it != epoch_cache_.end()) return it->second;
  // Epochs before the one being consumed are never needed again.
  const int64_t current = batches_per_epoch_ > 0 ? consumed_ / batches_per_epoch_ : 0;
  for (auto old = epoch_cache_.begin(); old != epoch_cache_.end();) {
    old = old->first < current ? epoch_cache_.erase(old) : std::next(old);
  }
  return epoch_cache_
      .emplace(epoch, epoch_batches(dataset_->modality_lengths(), options_.sampler, epoch))
      .first->second;
}

BatchLoader::Built BatchLoader::build(int64_t sequence) {
  Built built;
  try {
    std::vector<int64_t> positions;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      positions = batches_of_epoch(sequence / batches_per_epoch_)
                      .at(static_cast<size_t>(sequence % batches_per_epoch_));
    }
    const bool skip_bad = dataset_->options().bad_record_policy == "skip";
    TrainBatch batch;
    for (const int64_t position : positions) {
      TokenizedRecord tokenized = dataset_->tokenize(position);
      std::optional<torch::Tensor> image;
      // An image cut off by the length limit is not spliced, so it is not loaded either.
      if (tokenized.image_placeholders > 0) {
        try {
          image = dataset_->load_image(position);
        } catch (const Error& e) {
          if (!skip_bad) throw;
          spdlog::warn("[data] skipped: {}", e.what());
          std::lock_guard<std::mutex> lock(mutex_);
          ++skipped_images_;
          continue;
        }
      }
      batch.samples.push_back(std::move(tokenized.tokens));
      if (image) batch.images.push_back(std::move(*image));
      batch.record_indices.push_back(dataset_->record(position).index);
    }
    built.batch = std::move(batch);
  } catch (...) {
    built.error = std::current_exception();
  }
  return built;
}

std::optional<TrainBatch> BatchLoader::next() {
  while (true) {
    Built built;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (epoch_end_pending_) {
        epoch_end_pending_ = false;
        return std::nullopt;
      }
      const int64_t sequence = consumed_;
      if (workers_.empty()) {
        lock.unlock();
        built = build(sequence);
        lock.lock();
      } else {
        batch_ready_.wait(lock, [&] { return ready_.count(sequence) > 0; });
        built = std::move(ready_.at(sequence));
        ready_.erase(sequence);
      }
      ++consumed_;
      if (consumed_ % batches_per_epoch_ == 0) epoch_end_pending_ = true;
    }
    work_ready_.notify_all();
    if (built.error) std::rethrow_exception(built.error);
    if (!built.batch->samples.empty()) return std::move(built.batch);
  }
}

LoaderPosition BatchLoader::position() const {
  std::lock_guard<std::mutex> lock(mutex_);
  LoaderPosition p;
  p.seed = options_.sampler.seed;
  if (epoch_end_pending_) {
    p.epoch = consumed_ / batches_per_epoch_ - 1;
    p.batches_consumed = batches_per_epoch_;
  } else {
    p.epoch = consumed_ / batches_per_epoch_;
    p.batches_consumed = consumed_ % batches_per_epoch_;
  }
  return p;
}

void BatchLoader::restore(const LoaderPosition& position) {
  ADALLAVA_CHECK(position.epoch >= 0 && position.batches_consumed >= 0 &&
                     position.batches_consumed <= batches_per_epoch_,
                 "data position (epoch {}, batch {}) does not fit this dataset ({} batches per "
                 "epoch)",
                 position.epoch, position.batches_consumed, batches_per_epoch_);
  stop_workers();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (position.seed != options_.sampler.seed) epoch_cache_.clear();
    options_.sampler.seed = position.seed;
    consumed_ = position.epoch * batches_per_epoch_ + position.batches_consumed;
    epoch_end_pending_ = position.batches_consumed == batches_per_epoch_;
    next_to_build_ = consumed_;
    ready_.clear();
  }
  start_workers();
}

int64_t BatchLoader::skipped_images() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return skipped_images_;
}

void BatchLoader::start_workers() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = false;
    next_to_build_ = consumed_;
  }
  for (int64_t i = 0; i < options_.num_workers; ++i)
    workers_.emplace_back([this] { worker_loop(); });
}

void BatchLoader::stop_workers() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  for (auto& w : workers_) w.join();
  workers_.clear();
}

void BatchLoader::worker_loop() {
  while (true) {
    int64_t sequence;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      work_ready_.wait(lock,
                       [&] { return stopping_ || next_to_build_ < consumed_ + options_.prefetch; });
      if (stopping_) return;
      sequence = next_to_build_++;
    }
    Built built = build(sequence);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return;
      ready_.emplace(sequence, std::move(built));
    }
    batch_ready_.notify_all();
  }
}

}  // namespace adallava::train
