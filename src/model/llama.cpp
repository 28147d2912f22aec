#include "model/llama.h"

#include <cmath>
#include <limits>

#include <torch/torch.h>

#include "common/error.h"
#include "model/slice_arena.h"

namespace adallava::model {

RmsNormImpl::RmsNormImpl(int dim, double eps_) : eps(eps_) {
  weight = register_parameter("weight", torch::ones({dim}));
}

torch::Tensor RmsNormImpl::forward(const torch::Tensor& x) {
  auto x32 = x.to(torch::kFloat32);
  auto normed = x32 * torch::rsqrt(x32.pow(2).mean(-1, /*keepdim=*/true) + eps);
  return weight * normed.to(x.scalar_type());
}

void KVCache::reset(int num_layers, int64_t capacity_positions) {
  keys.assign(num_layers, torch::Tensor());
  values.assign(num_layers, torch::Tensor());
  length = 0;
  capacity = capacity_positions;
}

std::pair<torch::Tensor, torch::Tensor> rotary_tables(const torch::Tensor& position_ids,
                                                      int head_dim, double theta,
                                                      torch::ScalarType dtype) {
  auto opts = torch::TensorOptions().dtype(torch::kFloat32);
  // inv_freq = 1 / theta^(arange(0, hd, 2) / hd), in float32 exactly as LlamaRotaryEmbedding.
  auto exponents = torch::arange(0, head_dim, 2, torch::TensorOptions().dtype(torch::kInt64))
                       .to(torch::kFloat32) /
                   static_cast<float>(head_dim);
  auto inv_freq = 1.0 / torch::pow(torch::tensor(theta, opts), exponents);
  inv_freq = inv_freq.to(torch::kFloat32);
  auto freqs = position_ids.to(torch::kFloat32).unsqueeze(-1) * inv_freq;  // [B, T, hd/2]
  auto emb = torch::cat({freqs, freqs}, -1);
  return {emb.cos().to(dtype), emb.sin().to(dtype)};
}

torch::Tensor apply_rotary(const torch::Tensor& x, const torch::Tensor& cos,
                           const torch::Tensor& sin) {
  const auto half = x.size(-1) / 2;
  auto x1 = x.slice(-1, 0, half);
  auto x2 = x.slice(-1, half);
  auto rotated = torch::cat({-x2, x1}, -1);
  auto c = cos.unsqueeze(1);
  auto s = sin.unsqueeze(1);
  return x * c + rotated * s;
}

torch::Tensor build_attention_mask(const torch::Tensor& key_valid, int64_t past, int64_t T,
                                   torch::ScalarType dtype) {
  const auto B = key_valid.size(0);
  const auto S = key_valid.size(1);
  TORCH_CHECK(S == past + T, "attention mask covers ", S, " keys, expected ", past + T);
  const bool all_valid = key_valid.all().item<bool>();
  if (all_valid && T == 1) return {};
  auto q_pos = torch::arange(past, past + T, torch::kInt64).view({T, 1});
  auto k_pos = torch::arange(0, S, torch::kInt64).view({1, S});
  auto allowed =
      (k_pos <= q_pos).view({1, 1, T, S}) & key_valid.to(torch::kBool).view({B, 1, 1, S});
  double min_value;
  switch (dtype) {
    case torch::kBFloat16:
      min_value = -3.3895313892515355e38;
      break;
    case torch::kHalf:
      min_value = -65504.0;
      break;
    case torch::kDouble:
      min_value = std::numeric_limits<double>::lowest();
      break;
    default:
      min_value = std::numeric_limits<float>::lowest();
      break;
  }
  auto mask = torch::zeros({B, 1, T, S}, torch::TensorOptions().dtype(dtype));
  return mask.masked_fill(allowed.logical_not(), min_value);
}

std::pair<int64_t, int64_t> mlp_group_range(int64_t g, int64_t groups, int64_t intermediate) {
  const int64_t base = intermediate / groups, extra = intermediate % groups;
  const int64_t begin = g * base + std::min(g, extra);
  return {begin, begin + base + (g < extra ? 1 : 0)};
}

torch::Tensor cached_attention(const torch::Tensor& q, const torch::Tensor& k_new,
                               const torch::Tensor& v_new, const AttentionContext& ctx,
                               torch::Tensor* cache_k, torch::Tensor* cache_v,
                               const torch::Tensor& kv_for_head) {
  const auto B = q.size(0), H = q.size(1), T = q.size(2), hd = q.size(3);
  torch::Tensor k = k_new, v = v_new;
  if (cache_k && !cache_k->defined()) {
    TORCH_CHECK(ctx.cache_capacity >= ctx.past + T, "KV cache capacity ", ctx.cache_capacity,
                " too small");
    *cache_k = torch::zeros({B, k_new.size(1), ctx.cache_capacity, hd}, k_new.options());
    *cache_v = torch::zeros({B, v_new.size(1), ctx.cache_capacity, hd}, v_new.options());
  }
  if (cache_k) {
    const auto end = ctx.past + T;
    TORCH_CHECK(end <= cache_k->size(2), "KV cache capacity ", cache_k->size(2), " exceeded");
    cache_k->slice(2, ctx.past, end).copy_(k_new);
    cache_v->slice(2, ctx.past, end).copy_(v_new);
    k = cache_k->slice(2, 0, end);
    v = cache_v->slice(2, 0, end);
  }
  if (kv_for_head.defined()) {
    k = k.index_select(1, kv_for_head);
    v = v.index_select(1, kv_for_head);
  }
  const auto S = k.size(2);
  const auto Hkv = k.size(1);
  const auto group = H / Hkv;
  const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
  // Query heads of one group are stacked along the time axis so they share K/V without copies.
  auto qg = q.reshape({B, Hkv, group * T, hd});
  auto scores = torch::matmul(qg, k.transpose(-1, -2)) * scale;  // [B, Hkv, group*T, S]
  scores = scores.view({B, Hkv, group, T, S});
  if (ctx.mask.defined()) scores = scores + ctx.mask.view({B, 1, 1, T, S});
  auto probs = torch::softmax(scores, -1, torch::kFloat32).to(q.scalar_type());
  auto out = torch::matmul(probs.view({B, Hkv, group * T, S}), v);  // [B, Hkv, group*T, hd]
  return out.view({B, H, T, hd});
}

LlamaAttentionImpl::LlamaAttentionImpl(const LlamaConfig& cfg)
    : num_heads(cfg.num_heads), num_kv_heads(cfg.num_kv_heads), head_dim(cfg.head_dim()) {
  const int d = cfg.hidden_size;
  auto lin = [](int in, int out) {
    return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(false));
  };
  q_proj = register_module("q_proj", lin(d, num_heads * head_dim));
  k_proj = register_module("k_proj", lin(d, num_kv_heads * head_dim));
  v_proj = register_module("v_proj", lin(d, num_kv_heads * head_dim));
  o_proj = register_module("o_proj", lin(num_heads * head_dim, d));
  slice_arena = std::make_shared<SliceArena>();
}

namespace {

// Blocks `blocks` (ascending) of `block` rows (dim 0) or columns (dim 1) of w, copied into
// storage from the arena. Adjacent blocks are copied as one run.
torch::Tensor gather_blocks(const torch::Tensor& w,
                            const std::vector<std::pair<int64_t, int64_t>>& ranges, int64_t dim,
                            SliceArena& arena) {
  torch::NoGradGuard no_grad;  // inference-only weights; out= copies cannot record gradients
  std::vector<torch::Tensor> parts;
  int64_t width = 0;
  for (size_t i = 0; i < ranges.size();) {
    auto [begin, end] = ranges[i++];
    while (i < ranges.size() && ranges[i].first == end) end = ranges[i++].second;
    parts.push_back(w.narrow(dim, begin, end - begin));
    width += end - begin;
  }
  std::vector<int64_t> shape = w.sizes().vec();
  shape[dim] = width;
  auto out = arena.take(shape, w.options());
  return torch::cat_out(out, parts, dim);
}

std::vector<std::pair<int64_t, int64_t>> block_ranges(const std::vector<int64_t>& blocks,
                                                      int64_t block) {
  std::vector<std::pair<int64_t, int64_t>> out;
  for (auto b : blocks) out.emplace_back(b * block, (b + 1) * block);
  return out;
}

void slice_attention(const LlamaAttentionImpl& attn, const std::vector<int64_t>& heads,
                     LayerUnits::Sliced& s, SliceArena& arena) {
  const int64_t group = attn.num_heads / attn.num_kv_heads;
  std::vector<int64_t> kv;  // kept KV heads, ascending
  std::vector<int64_t> kv_for_head;
  for (auto h : heads) {
    const int64_t g = h / group;
    if (kv.empty() || kv.back() != g) kv.push_back(g);
    kv_for_head.push_back(static_cast<int64_t>(kv.size()) - 1);
  }
  s.attention_sliced = true;
  s.heads = static_cast<int64_t>(heads.size());
  s.kv_heads = static_cast<int64_t>(kv.size());
  if (heads.empty()) return;
  const auto head_rows = block_ranges(heads, attn.head_dim);
  const auto kv_rows = block_ranges(kv, attn.head_dim);
  s.q_w = gather_blocks(attn.q_proj->weight, head_rows, 0, arena);
  s.k_w = gather_blocks(attn.k_proj->weight, kv_rows, 0, arena);
  s.v_w = gather_blocks(attn.v_proj->weight, kv_rows, 0, arena);
  s.o_w = gather_blocks(attn.o_proj->weight, head_rows, 1, arena);
  // Contiguous query groups over the kept KV heads need no index; anything else does.
  if (group > 1 && s.kv_heads * group != s.heads)
    s.kv_for_head = torch::tensor(kv_for_head, torch::kInt64);
}

LayerUnits::Sliced& sliced_state(const LayerUnits& units) {
  if (!units.sliced) units.sliced = std::make_shared<LayerUnits::Sliced>();
  return *units.sliced;
}

}  // namespace

torch::Tensor LlamaAttentionImpl::forward(const torch::Tensor& x, const AttentionContext& ctx,
                                          torch::Tensor* cache_k, torch::Tensor* cache_v,
                                          const LayerUnits* units) {
  const auto B = x.size(0), T = x.size(1);
  if (units && units->heads) {
    auto& s = sliced_state(*units);
    if (!s.attention_sliced) slice_attention(*this, *units->heads, s, *slice_arena);
    if (s.heads == 0) return torch::zeros_like(x);
    namespace F = torch::nn::functional;
    auto q = F::linear(x, s.q_w).view({B, T, s.heads, head_dim}).transpose(1, 2);
    auto k = F::linear(x, s.k_w).view({B, T, s.kv_heads, head_dim}).transpose(1, 2);
    auto v = F::linear(x, s.v_w).view({B, T, s.kv_heads, head_dim}).transpose(1, 2);
    q = apply_rotary(q, ctx.cos, ctx.sin);
    k = apply_rotary(k, ctx.cos, ctx.sin);
    auto out = cached_attention(q, k, v, ctx, cache_k, cache_v, s.kv_for_head);
    return F::linear(out.transpose(1, 2).reshape({B, T, s.heads * head_dim}), s.o_w);
  }
  auto q = q_proj(x).view({B, T, num_heads, head_dim}).transpose(1, 2);
  auto k = k_proj(x).view({B, T, num_kv_heads, head_dim}).transpose(1, 2);
  auto v = v_proj(x).view({B, T, num_kv_heads, head_dim}).transpose(1, 2);
  q = apply_rotary(q, ctx.cos, ctx.sin);
  k = apply_rotary(k, ctx.cos, ctx.sin);
  auto out = cached_attention(q, k, v, ctx, cache_k, cache_v).transpose(1, 2);  // [B,T,H,hd]
  if (units && units->head_mask.defined())
    out = out * units->head_mask.to(out.scalar_type()).view({B, 1, num_heads, 1});
  return o_proj(out.reshape({B, T, num_heads * head_dim}));
}

LlamaMlpImpl::LlamaMlpImpl(const LlamaConfig& cfg) : num_groups(cfg.num_heads) {
  auto lin = [](int in, int out) {
    return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(false));
  };
  gate_proj = register_module("gate_proj", lin(cfg.hidden_size, cfg.intermediate_size));
  up_proj = register_module("up_proj", lin(cfg.hidden_size, cfg.intermediate_size));
  down_proj = register_module("down_proj", lin(cfg.intermediate_size, cfg.hidden_size));
  slice_arena = std::make_shared<SliceArena>();
}

torch::Tensor LlamaMlpImpl::forward(const torch::Tensor& x, const LayerUnits* units) {
  const int64_t intermediate = gate_proj->weight.size(0);
  if (units && units->groups) {
    namespace F = torch::nn::functional;
    auto& s = sliced_state(*units);
    if (!s.mlp_sliced) {
      s.mlp_sliced = true;
      std::vector<std::pair<int64_t, int64_t>> neurons;
      for (auto g : *units->groups) neurons.push_back(mlp_group_range(g, num_groups, intermediate));
      if (!neurons.empty()) {
        s.gate_w = gather_blocks(gate_proj->weight, neurons, 0, *slice_arena);
        s.up_w = gather_blocks(up_proj->weight, neurons, 0, *slice_arena);
        s.down_w = gather_blocks(down_proj->weight, neurons, 1, *slice_arena);
      }
    }
    if (!s.gate_w.defined()) return torch::zeros_like(x);
    return F::linear(torch::silu(F::linear(x, s.gate_w)) * F::linear(x, s.up_w), s.down_w);
  }
  auto act = torch::silu(gate_proj(x)) * up_proj(x);
  if (units && units->mlp_mask.defined()) {
    // Each neuron takes its group's factor (contiguous groups, the first ones one larger).
    std::vector<int64_t> group_of_neuron(intermediate);
    for (int64_t g = 0; g < num_groups; ++g) {
      auto [begin, end] = mlp_group_range(g, num_groups, intermediate);
      for (int64_t n = begin; n < end; ++n) group_of_neuron[n] = g;
    }
    auto index = torch::tensor(group_of_neuron, torch::kInt64);
    auto factors = units->mlp_mask.to(act.scalar_type()).index_select(1, index);  // [B, d_ff]
    act = act * factors.unsqueeze(1);
  }
  return down_proj(act);
}

LlamaDecoderLayerImpl::LlamaDecoderLayerImpl(const LlamaConfig& cfg) {
  self_attn = register_module("self_attn", LlamaAttention(cfg));
  mlp = register_module("mlp", LlamaMlp(cfg));
  input_layernorm = register_module("input_layernorm", RmsNorm(cfg.hidden_size, cfg.rms_norm_eps));
  post_attention_layernorm =
      register_module("post_attention_layernorm", RmsNorm(cfg.hidden_size, cfg.rms_norm_eps));
}

torch::Tensor LlamaDecoderLayerImpl::forward(const torch::Tensor& x, const AttentionContext& ctx,
                                             torch::Tensor* cache_k, torch::Tensor* cache_v,
                                             const LayerUnits* units) {
  TORCH_CHECK(!(units && units->skip), "a skipped layer must not run");
  auto h = x + self_attn(input_layernorm(x), ctx, cache_k, cache_v, units);
  return h + mlp(post_attention_layernorm(h), units);
}

}  // namespace adallava::model
