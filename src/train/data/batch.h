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
  std::vector<int64_t> record_indices;
};

}  // namespace adallava::train
