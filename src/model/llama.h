// LLaMA decoder blocks (HF LlamaForCausalLM semantics) and their KV cache.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>

#include "model/config.h"

namespace adallava::model {

class SliceArena;

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
  torch::Tensor cos, sin;      // [B, T, head_dim] in the activation dtype
  torch::Tensor mask;          // additive [B, 1, T, S] or undefined when nothing is masked
  int64_t past = 0;            // cached positions before this step
  int64_t cache_capacity = 0;  // positions a layer's cache is allocated for on first use
};

// How much of one decoder layer runs: the unit AdaLLaVA's execution plans are made of. The
// default runs everything. Training multiplies 0/1 (straight-through) masks into the computed
// units; inference skips whole layers or slices the weights down to the active units, so
// only their work is done and only their keys/values are cached.
struct LayerUnits {
  bool skip = false;  // identity on the residual stream; no KV cache entry
  // Training: [B, H] factors on each head's output before o_proj and on the H contiguous
  // MLP neuron groups before down_proj (undefined = 1).
  torch::Tensor head_mask, mlp_mask;
  // Inference: active heads / neuron groups, ascending (nullopt = all, empty = none).
  std::optional<std::vector<int64_t>> heads, groups;

  bool full() const {
    return !skip && !head_mask.defined() && !mlp_mask.defined() && !heads && !groups;
  }
  // Sliced weights, built on first use and reused by every decode step of the answer.
  struct Sliced;
  mutable std::shared_ptr<Sliced> sliced;
};

struct LayerUnits::Sliced {
  bool attention_sliced = false, mlp_sliced = false;
  torch::Tensor q_w, k_w, v_w, o_w;  // rows of the active heads / their KV heads; o_w columns
  torch::Tensor kv_for_head;         // [h] index into the kept KV heads (GQA only)
  int64_t heads = 0, kv_heads = 0;
  torch::Tensor gate_w, up_w, down_w;  // rows / columns of the active neurons
};

// Neuron range [begin, end) of MLP group g out of `groups` over `intermediate` neurons: the
// first intermediate % groups groups hold one extra neuron (the official contiguous split).
std::pair<int64_t, int64_t> mlp_group_range(int64_t g, int64_t groups, int64_t intermediate);

struct LlamaAttentionImpl : torch::nn::Module {
  explicit LlamaAttentionImpl(const LlamaConfig& cfg);
  // cache_k/cache_v: this layer's cache slots (undefined = no cache).
  torch::Tensor forward(const torch::Tensor& x, const AttentionContext& ctx, torch::Tensor* cache_k,
                        torch::Tensor* cache_v, const LayerUnits* units = nullptr);
  int num_heads, num_kv_heads, head_dim;
  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
  std::shared_ptr<SliceArena> slice_arena;  // storage of sliced (AdaLLaVA-H) weights
};
TORCH_MODULE(LlamaAttention);

struct LlamaMlpImpl : torch::nn::Module {
  explicit LlamaMlpImpl(const LlamaConfig& cfg);
  torch::Tensor forward(const torch::Tensor& x, const LayerUnits* units = nullptr);
  int num_groups;  // = attention heads, as AdaLLaVA-H groups neurons
  torch::nn::Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
  std::shared_ptr<SliceArena> slice_arena;
};
TORCH_MODULE(LlamaMlp);

struct LlamaDecoderLayerImpl : torch::nn::Module {
  explicit LlamaDecoderLayerImpl(const LlamaConfig& cfg);
  // `units` null or full = the stock block. A skipped layer must not be called.
  torch::Tensor forward(const torch::Tensor& x, const AttentionContext& ctx, torch::Tensor* cache_k,
                        torch::Tensor* cache_v, const LayerUnits* units = nullptr);
  LlamaAttention self_attn{nullptr};
  LlamaMlp mlp{nullptr};
  RmsNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
};
TORCH_MODULE(LlamaDecoderLayer);

// Scaled-dot-product attention with the cache update: q [B,H,T,hd], k/v [B,Hkv,T,hd].
// Grouped-query heads share their KV head without copying it.
// kv_for_head (optional, [H] int64): the KV head each query head reads, for sliced grouped-query
// layers whose kept KV heads no longer line up with contiguous query groups.
torch::Tensor cached_attention(const torch::Tensor& q, const torch::Tensor& k,
                               const torch::Tensor& v, const AttentionContext& ctx,
                               torch::Tensor* cache_k, torch::Tensor* cache_v,
                               const torch::Tensor& kv_for_head = {});

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
