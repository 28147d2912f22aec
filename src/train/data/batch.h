// One micro-batch as the training step consumes it.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/types.h>

#include "model/llava.h"

namespace adallava::train {

struct TrainBatch {
  // ids with -200 at images, labels (-100 = ignored), already truncated to data.max_length.
  std::vector<model::SampleTokens> samples;
  // [C,S,S] float32, one per image placeholder, in order.
  std::vector<torch::Tensor> images;
  // Per-sample supervision of objectives without text (vision pretraining: [patches, heads]
  // int64 class indices, see scene_patches.h); empty for LLaVA batches.
  std::vector<torch::Tensor> targets;
  std::vector<int64_t> record_indices;
};

}  // namespace adallava::train
