// LLaMA decoder blocks (HF LlamaForCausalLM semantics) and their KV cache.
#pragma once

#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>

#include "model/config.h"

namespace adallava::model {

// LlamaRMSNorm: normalise in float32, cast back, then scale (the order matters in bf16/f16).
struct RmsNormImpl : torch::nn::Module {
  RmsNormImpl(int dim, double eps);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight;
  double eps;
};
TORCH_MODULE(RmsNorm);

// Per-layer key/value storage, preallocated to a capacity so decode steps do not reallocate.
// A layer whose entry stays undefined holds no cache (AdaLLaVA skips it).
struct KVCache {
  std::vector<torch::Tensor> keys;    // [B, kv_heads, capacity, head_dim]
  std::vector<torch::Tensor> values;  // same
  int64_t length = 0;                 // positions already stored
  int64_t capacity = 0;

  void reset(int num_layers, int64_t capacity_positions);
};

// What every layer of one forward step shares: rotary tables and the attention mask.
struct AttentionContext {
  torch::Tensor cos, sin;  // [B, T, head_dim] in the activation dtype
  torch::Tensor mask;      // additive [B, 1, T, S] or undefined when nothing is masked
  int64_t past = 0;        // cached positions before this step
};

struct LlamaAttentionImpl : torch::nn::Module {
  explicit LlamaAttentionImpl(const LlamaConfig& cfg);
  // cache_k/cache_v: this layer's cache slots (undefined = no cache).
  torch::Tensor forward(const torch::Tensor& x, const AttentionContext& ctx, torch::Tensor* cache_k,
                        torch::Tensor* cache_v);
  int num_heads, num_kv_heads, head_dim;
  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
};
TORCH_MODULE(LlamaAttention);

struct LlamaMlpImpl : torch::nn::Module {
  explicit LlamaMlpImpl(const LlamaConfig& cfg);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
};
TORCH_MODULE(LlamaMlp);

struct LlamaDecoderLayerImpl : torch::nn::Module {
  explicit LlamaDecoderLayerImpl(const LlamaConfig& cfg);
  torch::Tensor forward(const torch::Tensor& x, const AttentionContext& ctx, torch::Tensor* cache_k,
                        torch::Tensor* cache_v);
  LlamaAttention self_attn{nullptr};
  LlamaMlp mlp{nullptr};
  RmsNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
};
TORCH_MODULE(LlamaDecoderLayer);

// Scaled-dot-product attention with the cache update: q [B,H,T,hd], k/v [B,Hkv,T,hd].
// Grouped-query heads share their KV head without copying it.
torch::Tensor cached_attention(const torch::Tensor& q, const torch::Tensor& k,
                               const torch::Tensor& v, const AttentionContext& ctx,
                               torch::Tensor* cache_k, torch::Tensor* cache_v);

// rotate-half RoPE applied to x [B, H, T, hd] with cos/sin [B, T, hd].
torch::Tensor apply_rotary(const torch::Tensor& x, const torch::Tensor& cos,
                           const torch::Tensor& sin);

// cos/sin tables for position ids [B, T], computed in float32 as HF does, then cast.
std::pair<torch::Tensor, torch::Tensor> rotary_tables(const torch::Tensor& position_ids,
                                                      int head_dim, double theta,
                                                      torch::ScalarType dtype);

// Additive mask [B,1,T,S] from key validity [B,S] (S = past + T) and causality; undefined when
// every key is valid and T == 1 (nothing to mask).
torch::Tensor build_attention_mask(const torch::Tensor& key_valid, int64_t past, int64_t T,
                                   torch::ScalarType dtype);

}  // namespace adallava::model
