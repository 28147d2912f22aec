// Analytic work counts for `adallava bench`: FLOPs of the matmuls each stage performs and the
// bytes decode has to stream, so measured times can be set against the machine's limits.
// Only matmul-like work is counted (2 FLOPs per multiply-add); norms, activations, softmax and
// RoPE are left out because they are a small share and do not run at matmul speed anyway.
#pragma once

#include <cstdint>

#include "model/config.h"

namespace adallava::cli::bench {

// Patch embedding + the encoder layers LLaVA runs (up to select_layer) + the mlp2x projector.
// Attention scores and the weighted sum are counted over all tokens (CLIP is not causal).
inline double clip_feature_flops(const model::VisionConfig& v, int layers_run, int llm_hidden) {
  const double patches = v.num_patches();
  const double tokens = patches + 1;  // + CLS
  const double d = v.hidden_size, mlp = v.intermediate_size;
  const double patch_in = static_cast<double>(v.num_channels) * v.patch_size * v.patch_size;
  const double embed = 2.0 * patches * patch_in * d;
  const double per_layer_linear = 2.0 * tokens * (4.0 * d * d + 2.0 * d * mlp);
  const double per_layer_attention = 2.0 * 2.0 * tokens * tokens * d;  // QK^T and PV
  const double projector = 2.0 * patches * (d * llm_hidden + 1.0 * llm_hidden * llm_hidden);
  return embed + layers_run * (per_layer_linear + per_layer_attention) + projector;
}

// Weights of one LLaMA decoder layer's projections (q, k, v, o, gate, up, down).
inline double llama_layer_matmul_params(const model::LlamaConfig& t) {
  const double d = t.hidden_size, mlp = t.intermediate_size;
  const double kv = static_cast<double>(t.num_kv_heads) * t.head_dim();
  return 2.0 * d * d + 2.0 * d * kv + 3.0 * d * mlp;
}

// A prefill of `tokens` positions from an empty cache, with logits for the last one only.
// The attention is counted as computed (the full T x T product with a causal mask added), not
// the causal half a fused kernel would do.
inline double llama_prefill_flops(const model::LlamaConfig& t, double tokens) {
  const double d = t.hidden_size;
  const double per_layer = 2.0 * tokens * llama_layer_matmul_params(t) + 4.0 * tokens * tokens * d;
  return t.num_layers * per_layer + 2.0 * d * t.vocab_size;
}

// Bytes one decode step must read: every projection weight, the LM head, the norms, and the
// cached keys/values it attends to. The embedding row looked up is negligible.
inline double llama_decode_step_bytes(const model::LlamaConfig& t, double context,
                                      double bytes_per_element) {
  const double d = t.hidden_size;
  const double kv = static_cast<double>(t.num_kv_heads) * t.head_dim();
  const double weights =
      t.num_layers * (llama_layer_matmul_params(t) + 2.0 * d) + d * t.vocab_size + d;
  const double cache = t.num_layers * 2.0 * context * kv;
  return (weights + cache) * bytes_per_element;
}

}  // namespace adallava::cli::bench
