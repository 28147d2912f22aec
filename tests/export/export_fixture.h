// Shared helpers for the export tests: exporting the golden tiny checkpoints in memory, calling
// the TorchScript methods, and reading the AdaLLaVA reference outputs.
#pragma once

#include <string>
#include <vector>

#include <torch/script.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "common/files.h"
#include "export/exporter.h"
#include "io/weights.h"
#include "support/paths.h"

namespace adallava::test {

inline torch::jit::Module export_in_memory(const std::string& golden_relative,
                                           c10::ScalarType dtype = torch::kFloat32) {
  exporter::SourceOptions options;
  options.dtype = dtype;
  return exporter::build_scripted_model(
      exporter::read_export_source(golden(golden_relative), options));
}

struct Prefill {
  torch::Tensor logits;  // [positions, V] (all positions)
  c10::IValue cache;
  torch::Tensor plan;  // [L, 2, H]
};

inline Prefill run_prefill(torch::jit::Module& m, const torch::Tensor& ids,
                           const torch::Tensor& features, double budget, int64_t max_new = 0) {
  auto out = m.run_method("prefill", ids, features, budget, max_new, true).toTuple();
  return {out->elements()[0].toTensor(), out->elements()[1], out->elements()[2].toTensor()};
}

// Greedy decoding through decode_step, returning the tokens and every step's logits.
inline std::vector<int64_t> greedy_steps(torch::jit::Module& m, Prefill p, int n,
                                         std::vector<torch::Tensor>* step_logits) {
  std::vector<int64_t> tokens;
  auto next = p.logits[-1];
  auto cache = p.cache;
  for (int i = 0; i < n; ++i) {
    if (step_logits) step_logits->push_back(next);
    const int64_t tok = next.argmax().item<int64_t>();
    tokens.push_back(tok);
    if (i + 1 == n) break;
    auto out = m.run_method("decode_step", tok, cache, p.plan).toTuple();
    next = out->elements()[0].toTensor();
    cache = out->elements()[1];
  }
  return tokens;
}

inline const io::StateDict& reference(const std::string& relative) {
  static std::map<std::string, io::StateDict> cache;
  auto it = cache.find(relative);
  if (it == cache.end())
    it = cache.emplace(relative, io::load_safetensors(golden(relative + "/reference.safetensors")))
             .first;
  return it->second;
}

inline torch::Tensor ref(const std::string& relative, const std::string& name) {
  const auto& r = reference(relative);
  auto it = r.find(name);
  if (it == r.end()) throw std::runtime_error("reference tensor missing: " + relative + " " + name);
  return it->second;
}

inline nlohmann::json manifest(const std::string& relative) {
  return read_json_file(golden(relative + "/manifest.json"));
}

inline std::vector<int64_t> ids_of(const torch::Tensor& t) {
  auto c = t.to(torch::kInt64).contiguous();
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

inline double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

}  // namespace adallava::test
