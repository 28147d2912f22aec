#include "model/slice_arena.h"

#include <ATen/ATen.h>

namespace adallava::model {

at::Tensor SliceArena::take(at::IntArrayRef shape, const at::TensorOptions& options) {
  int64_t numel = 1;
  for (auto d : shape) numel *= d;
  at::Tensor* best = nullptr;
  for (auto& b : buffers_) {
    // use_count 1: only this list refers to the storage, so no plan is using it.
    const bool free = b.storage().use_count() == 1;
    if (free && b.scalar_type() == options.dtype() && b.numel() >= numel &&
        (!best || b.numel() < best->numel()))
      best = &b;
  }
  if (!best) {
    buffers_.push_back(at::empty({numel}, options));
    best = &buffers_.back();
  }
  return best->narrow(0, 0, numel).view(shape);
}

}  // namespace adallava::model
