// Greedy and sampled generation with a KV cache, batched with left padding.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "model/llava.h"

namespace adallava::model {

struct GenerationOptions {
  int max_new_tokens = 128;
  double temperature = 0.0;     // 0 = greedy (LLaVA's eval setting)
  std::optional<double> top_p;  // nucleus filtering when sampling
  uint64_t seed = 0;            // sampling RNG seed
  bool stop_at_eos = true;
  // AdaLLaVA latency budget in [0, 1]; unset = run every unit. A plain LLaVA checkpoint
  // accepts only 1.0.
  std::optional<double> budget;
};

struct GenerationRequest {
  std::vector<int64_t> ids;  // prompt ids with image placeholders
  torch::Tensor pixels;      // [C,S,S] or [N,C,S,S], one image per placeholder; undefined = none
};

struct GenerationResult {
  std::vector<int64_t> tokens;  // new tokens (EOS included when it stopped the answer)
  bool stopped_by_eos = false;
  int64_t prompt_positions = 0;                        // LLM positions after splicing images
  double image_ms = 0, prefill_ms = 0, decode_ms = 0;  // shared by the whole batch
  // The execution plan as the official code reports it: active heads per LLM layer, -1 for a
  // skipped layer (every layer full for plain LLaVA).
  std::vector<int> plan;
  // Analytic cost of this answer (LLM-Viewer formulas; LLM only), see adaptive/cost_model.h.
  double prefill_flops = 0, flops = 0;
};

// Runs one batch. Prompts of different lengths are left-padded; each answer is the same as
// running its request alone (up to float rounding of the batched matmuls).
std::vector<GenerationResult> generate(LlavaForCausalLM& model,
                                       const std::vector<GenerationRequest>& requests,
                                       const GenerationOptions& options);

// Picks the next token per row from last-position logits [B, V] (float32).
torch::Tensor select_next_tokens(const torch::Tensor& logits, const GenerationOptions& options,
                                 torch::Generator& generator);

}  // namespace adallava::model
