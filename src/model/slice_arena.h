// Reusable storage for the sliced weights of AdaLLaVA-H plans.
//
// Every new plan copies the active rows/columns of a layer's weights once. Fresh tensors of
// tens of MB come from mmap, and first-touch page faults made that copy ~10x slower than the
// copy itself (24 ms vs 2.5 ms per 4096 x 8256 bf16 matrix), enough to make a 24-of-32-head
// prefill slower than the full layer. The arena keeps the buffers of finished plans and hands
// them to the next plan instead.
#pragma once

#include <cstdint>
#include <vector>

#include <ATen/Tensor.h>

namespace adallava::model {

class SliceArena {
 public:
  // A contiguous tensor of `shape` whose storage no live tensor outside the arena uses: the
  // smallest free buffer that fits, or a new one (kept for later plans).
  at::Tensor take(at::IntArrayRef shape, const at::TensorOptions& options);
  size_t buffers() const { return buffers_.size(); }

 private:
  std::vector<at::Tensor> buffers_;  // 1-D, each owned by the arena alone when free
};

}  // namespace adallava::model
