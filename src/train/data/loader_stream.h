// Glue between the data loader and the trainer: a BatchLoader behind the trainer's
// MicroBatchStream interface, and the loader settings a TrainConfig asks for.
#pragma once

#include <cstdint>
#include <memory>

#include <nlohmann/json.hpp>

#include "config/train_config.h"
#include "train/batch_stream.h"
#include "train/data/loader.h"

namespace adallava::train {

nlohmann::json to_json(const LoaderPosition& position);
// Errors name the missing or mistyped field.
LoaderPosition loader_position_from_json(const nlohmann::json& j);

class LoaderBatchStream : public MicroBatchStream {
 public:
  LoaderBatchStream(std::shared_ptr<const InstructionDataset> dataset, LoaderOptions options)
      : loader_(std::move(dataset), std::move(options)) {}
  int64_t batches_per_epoch() const override { return loader_.batches_per_epoch(); }
  std::optional<TrainBatch> next() override { return loader_.next(); }
  nlohmann::json position() const override { return to_json(loader_.position()); }
  void restore(const nlohmann::json& position) override {
    loader_.restore(loader_position_from_json(position));
  }
  BatchLoader& loader() { return loader_; }

 private:
  BatchLoader loader_;
};

// Dataset settings of data.train (or data.eval when `eval`) for a model whose images take
// `image_tokens` positions and are preprocessed with `preprocess` (pad to square when
// model.image_aspect_ratio is pad). data.max_train_samples / max_eval_samples apply.
DatasetOptions dataset_options(const config::TrainConfig& cfg, bool eval, int64_t image_tokens,
                               const image::PreprocessConfig& preprocess);

// Loader settings for `rank` of `world_size`: micro batch, grad accumulation (for the modality
// megabatches), shuffle / grouping (eval: neither), seed, workers and prefetch.
LoaderOptions loader_options(const config::TrainConfig& cfg, bool eval, int64_t rank = 0,
                             int64_t world_size = 1);

}  // namespace adallava::train
