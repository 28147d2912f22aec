// Typed access to the methods of an exported model (the TorchScript side is documented in
// docs/export.md). Errors raised inside TorchScript come back as adallava::Error with the
// script's message.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/ivalue.h>
#include <torch/types.h>

#include "runtime/artifact.h"

namespace adallava::runtime {

struct DecodeState {
  c10::IValue cache;   // (keys, values, length) as the TorchScript methods return it
  torch::Tensor plan;  // [L, 2, H] 0/1, fixed for the whole answer
};

struct PrefillOutput {
  torch::Tensor logits;  // [positions, V] float32 (only the last position unless all_logits)
  DecodeState state;
};

class ExportedModel {
 public:
  static ExportedModel load(const std::string& path, const ArtifactOptions& options = {});

  // pixels [C,S,S] or [N,C,S,S] -> projected features [N, P, D].
  torch::Tensor encode_image(const torch::Tensor& pixels);
  // Checks the budget in C++ first (clear message without a TorchScript traceback).
  int64_t budget_to_units(double budget);
  PrefillOutput prefill(const std::vector<int64_t>& ids, const torch::Tensor& image_features,
                        double budget, int64_t max_new_tokens, bool all_logits = false);
  // Logits [V] for the next position; the state's cache advances by one.
  torch::Tensor decode_step(int64_t token, DecodeState& state);
  // Active heads per layer, -1 for a skipped layer (the official execution_plan list).
  std::vector<int64_t> plan_heads(const torch::Tensor& plan);

  bool adaptive() const;
  int64_t eos_token_id() const;
  const Artifact& artifact() const { return artifact_; }
  torch::jit::Module& module() { return artifact_.module; }

 private:
  explicit ExportedModel(Artifact a) : artifact_(std::move(a)) {}
  c10::IValue call(const std::string& method, std::vector<c10::IValue> args);
  Artifact artifact_;
};

}  // namespace adallava::runtime
