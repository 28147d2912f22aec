// Shared helpers for the AdaLLaVA golden tests (../shared/golden/adallava).
#pragma once

#include <fstream>
#include <map>
#include <string>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "adaptive/adallava.h"
#include "io/weights.h"
#include "support/paths.h"

namespace adallava::test {

struct AdaReference {
  io::StateDict tensors;
  nlohmann::json manifest;

  torch::Tensor at(const std::string& name) const {
    auto it = tensors.find(name);
    if (it == tensors.end()) throw std::runtime_error("reference tensor missing: " + name);
    return it->second;
  }
  bool has(const std::string& name) const { return tensors.count(name) > 0; }
};

inline const AdaReference& ada_reference(const std::string& folder) {
  static std::map<std::string, AdaReference> cache;
  auto it = cache.find(folder);
  if (it != cache.end()) return it->second;
  AdaReference ref;
  ref.tensors = io::load_safetensors(golden("adallava/" + folder + "/reference.safetensors"));
  std::ifstream in(golden("adallava/" + folder + "/manifest.json"));
  in >> ref.manifest;
  return cache.emplace(folder, std::move(ref)).first->second;
}

inline model::LoadedLlava& ada_model(const std::string& variant) {
  static std::map<std::string, model::LoadedLlava> cache;
  auto it = cache.find(variant);
  if (it != cache.end()) return it->second;
  return cache.emplace(variant, adaptive::load_adallava(golden("adallava/ada_" + variant)))
      .first->second;
}

inline double max_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

inline std::vector<int64_t> ids_of(const torch::Tensor& t) {
  auto c = t.to(torch::kInt64).contiguous();
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

}  // namespace adallava::test
