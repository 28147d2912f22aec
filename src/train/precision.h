// Mixed precision on CPU: bfloat16 autocast around the forward pass, float32 master weights.
#pragma once

#include <c10/core/ScalarType.h>

namespace adallava::train {

// While alive, CPU autocast runs matmul-type ops (linear, matmul, bmm, conv) in `dtype` and
// keeps the rest (softmax, norms, losses) in float32, like torch.autocast("cpu"). Leaving the
// outermost guard drops autocast's cache of casted weights, so a later optimizer step is seen.
// Does nothing when `enabled` is false. Not for use across threads.
class AutocastGuard {
 public:
  AutocastGuard(bool enabled, c10::ScalarType dtype = c10::ScalarType::BFloat16);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool enabled_;
  bool previous_enabled_ = false;
  c10::ScalarType previous_dtype_ = c10::ScalarType::BFloat16;
};

}  // namespace adallava::train
