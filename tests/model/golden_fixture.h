// Shared helpers for tests that compare the model with the upstream reference outputs.
#pragma once

#include <string>

#include <torch/torch.h>

#include "io/weights.h"
#include "support/paths.h"

namespace adallava::test {

inline const io::StateDict& tiny_reference() {
  static io::StateDict ref = io::load_safetensors(golden("llava-tiny/ref/reference.safetensors"));
  return ref;
}

inline torch::Tensor ref_tensor(const std::string& name) {
  const auto& ref = tiny_reference();
  auto it = ref.find(name);
  if (it == ref.end()) throw std::runtime_error("reference tensor missing: " + name);
  return it->second;
}

inline std::vector<int64_t> to_ids(const torch::Tensor& t) {
  auto c = t.to(torch::kInt64).contiguous();
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

inline double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

}  // namespace adallava::test
