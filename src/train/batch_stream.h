// The trainer's view of a data loader: micro-batches epoch after epoch, and a position that a
// checkpoint stores so a resumed run sees exactly the batches the interrupted one would have.
#pragma once

#include <cstdint>
#include <optional>

#include <nlohmann/json.hpp>

#include "train/data/batch.h"

namespace adallava::train {

class MicroBatchStream {
 public:
  virtual ~MicroBatchStream() = default;
  // Micro-batches in one epoch (the last one may hold fewer samples).
  virtual int64_t batches_per_epoch() const = 0;
  // The next micro-batch, or nullopt at the end of an epoch; the call after that starts the
  // next epoch.
  virtual std::optional<TrainBatch> next() = 0;
  // Where next() continues from, as JSON (saved into trainer_state.json) ...
  virtual nlohmann::json position() const = 0;
  // ... and back.
  virtual void restore(const nlohmann::json& position) = 0;
};

}  // namespace adallava::train
