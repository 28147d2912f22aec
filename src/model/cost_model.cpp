#include "model/cost_model.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace adallava::model {

namespace {

// Python's float `//` for non-negative operands: exact when the dividend is an exact dyadic
// below 2^53, which is why the head-fraction scaling below floors exactly like the analyzer.
double floor_div(double dividend, double divisor) {
  const double remainder = std::fmod(dividend, divisor);
  return std::floor((dividend - remainder) / divisor);
}

// Every byte/OP count must stay exactly representable for the results to equal the analyzer's
// (Python ints there; doubles here).
constexpr double kExactLimit = 9007199254740992.0;  // 2^53

void check_dims(const CostDims& d) {
  ADALLAVA_CHECK(d.layers > 0 && d.hidden > 0 && d.heads > 0 && d.kv_heads > 0 &&
                     d.intermediate > 0 && d.vocab > 0,
                 "cost model: every dimension must be positive (layers {}, hidden {}, heads {}, "
                 "kv_heads {}, intermediate {}, vocab {})",
                 d.layers, d.hidden, d.heads, d.kv_heads, d.intermediate, d.vocab);
  ADALLAVA_CHECK(d.hidden % d.heads == 0 && (d.hidden * d.kv_heads) % d.heads == 0,
                 "cost model: hidden size {} is not a multiple of the head count {} (kv heads {})",
                 d.hidden, d.heads, d.kv_heads);
}

void check_precision(const CostPrecision& p) {
  ADALLAVA_CHECK(p.w_bits > 0 && p.a_bits > 0 && p.kv_bits > 0 && p.w_bits <= 64 &&
                     p.a_bits <= 64 && p.kv_bits <= 64,
                 "cost model: bit widths must be in 1..64 (w {}, a {}, kv {})", p.w_bits, p.a_bits,
                 p.kv_bits);
}

void check_lengths(const CostDims& d, int64_t prompt_len, int64_t batch) {
  ADALLAVA_CHECK(prompt_len > 0, "cost model: prompt_len must be positive, got {}", prompt_len);
  ADALLAVA_CHECK(batch > 0, "cost model: batch must be positive, got {}", batch);
  // The largest products: the prefill attention matmuls and the MLP linears at full heads.
  const double p = static_cast<double>(prompt_len), b = static_cast<double>(batch);
  const double attention = p * p * static_cast<double>(d.hidden) * b * 2 * 8;
  const double linear = static_cast<double>(d.hidden) * static_cast<double>(d.intermediate) * b *
                        p * 2 * static_cast<double>(d.heads) * 8;
  ADALLAVA_CHECK(attention < kExactLimit && linear < kExactLimit,
                 "cost model: prompt_len {} with batch {} is too large for exact counts",
                 prompt_len, batch);
}

class OpRecorder {
 public:
  OpRecorder(const CostHardware& hardware, double peak_ops)
      : bandwidth_(hardware.bandwidth), peak_ops_(peak_ops) {}

  // LLM-Viewer's roofline: memory_access is in bytes here (the analyzer's vendored copy does not
  // divide by 8), and the operation order below is the analyzer's.
  OpCost record(const char* name, double ops, double load_weight, double load_act, double store_act,
                double load_kv_cache, double store_kv_cache) const {
    OpCost op;
    op.name = name;
    op.ops = ops;
    op.load_weight = load_weight;
    op.load_act = load_act;
    op.store_act = store_act;
    op.load_kv_cache = load_kv_cache;
    op.store_kv_cache = store_kv_cache;
    op.memory_access = load_weight + load_act + store_act + load_kv_cache + store_kv_cache;
    const double turning_point = peak_ops_ / bandwidth_;
    op.arithmetic_intensity = ops / op.memory_access;
    if (op.arithmetic_intensity < turning_point) {
      op.bound = RooflineBound::Memory;
      op.performance = op.arithmetic_intensity * bandwidth_;
    } else {
      op.bound = RooflineBound::Compute;
      op.performance = peak_ops_;
    }
    op.inference_time = ops / op.performance;
    return op;
  }

 private:
  double bandwidth_, peak_ops_;
};

struct LinearShape {
  const char* name;
  double in, out;
  bool writes_kv;  // k_proj / v_proj store into the KV cache instead of the activations
};

void add_to_totals(StageTotals& totals, const OpCost& op) {
  totals.ops += op.ops;
  totals.memory_access += op.memory_access;
  totals.load_weight += op.load_weight;
  totals.load_act += op.load_act;
  totals.store_act += op.store_act;
  totals.load_kv_cache += op.load_kv_cache;
  totals.store_kv_cache += op.store_kv_cache;
  totals.inference_time += op.inference_time;
}

double stored_activations(const std::vector<OpCost>& ops) {
  double sum = 0;
  for (const auto& op : ops) sum += op.store_act;
  return sum;
}

}  // namespace

CostHardware CostHardware::nvidia_v100() {
  CostHardware hw;
  hw.name = "nvidia_V100";
  hw.bandwidth = 900e9;
  hw.peak_fp16_ops = 112e12;
  hw.peak_int8_ops = 62e12;
  hw.onchip_buffer = 20480e3;
  return hw;
}

double CostHardware::peak_ops(int w_bits, int a_bits, int kv_bits) const {
  return (w_bits <= 8 && a_bits <= 8 && kv_bits <= 8) ? peak_int8_ops : peak_fp16_ops;
}

CostDims cost_dims(const LlamaConfig& config) {
  CostDims d;
  d.layers = config.num_layers;
  d.hidden = config.hidden_size;
  d.heads = config.num_heads;
  d.kv_heads = config.num_kv_heads;
  d.intermediate = config.intermediate_size;
  d.vocab = config.vocab_size;
  return d;
}

const char* to_string(RooflineBound bound) {
  return bound == RooflineBound::Memory ? "memory" : "compute";
}

LayerCost analyze_one_layer(const CostDims& dims, int64_t prompt_len, int num_heads,
                            const CostHardware& hardware, const CostPrecision& precision,
                            int64_t batch) {
  check_dims(dims);
  check_precision(precision);
  check_lengths(dims, prompt_len, batch);
  ADALLAVA_CHECK(num_heads >= 1 && num_heads <= dims.heads,
                 "cost model: active heads of an executed layer must be in 1..{}, got {}",
                 dims.heads, num_heads);
  ADALLAVA_CHECK(hardware.bandwidth > 0 && hardware.peak_fp16_ops > 0 && hardware.peak_int8_ops > 0,
                 "cost model: hardware '{}' needs positive bandwidth and peak OPs", hardware.name);

  const OpRecorder rec(hardware,
                       hardware.peak_ops(precision.w_bits, precision.a_bits, precision.kv_bits));
  const double w_byte = precision.w_bits / 8.0, a_byte = precision.a_bits / 8.0,
               kv_byte = precision.kv_bits / 8.0;
  const double h = num_heads, H = static_cast<double>(dims.heads);
  const double kv_heads = static_cast<double>(dims.kv_heads);
  const double b = static_cast<double>(batch), P = static_cast<double>(prompt_len);
  const double d = static_cast<double>(dims.hidden), ff = static_cast<double>(dims.intermediate);
  const double head_dim = static_cast<double>(dims.hidden / dims.heads);
  const double kv_out = static_cast<double>(dims.hidden * dims.kv_heads / dims.heads);

  // Linears are scaled by the head fraction h/H and floored (the analyzer's `* h // H`); that
  // includes the MLP linears and the weights, but not the K/V cache writes.
  const LinearShape linears[] = {
      {"q_proj", d, d, false},     {"k_proj", d, kv_out, true}, {"v_proj", d, kv_out, true},
      {"out_proj", d, d, false},   {"gate_proj", d, ff, false}, {"up_proj", d, ff, false},
      {"down_proj", ff, d, false},
  };

  LayerCost layer;
  layer.decode.reserve(15);
  layer.prefill.reserve(15);
  for (const auto& lin : linears) {
    const double ic = lin.in, oc = lin.out;
    layer.decode.push_back(rec.record(
        lin.name, floor_div(ic * oc * b * 2 * h, H), floor_div(ic * oc * w_byte * h, H),
        floor_div(ic * b * a_byte * h, H), lin.writes_kv ? 0 : floor_div(oc * b * a_byte * h, H), 0,
        lin.writes_kv ? oc * b * kv_byte : 0));
    layer.prefill.push_back(rec.record(lin.name, floor_div(ic * oc * b * P * 2 * h, H),
                                       floor_div(ic * oc * w_byte * h, H),
                                       floor_div(ic * b * P * a_byte * h, H),
                                       lin.writes_kv ? 0 : floor_div(oc * b * P * a_byte * h, H), 0,
                                       lin.writes_kv ? oc * b * P * kv_byte : 0));
  }

  // Decode: one query against P cached positions. The analyzer reads the cache of every KV
  // head here (not only the active ones), but only the active heads' cache at prefill.
  auto& dec = layer.decode;
  dec.push_back(rec.record("qk_matmul", P * head_dim * h * b * 2, 0, head_dim * b * h * a_byte,
                           P * b * h * a_byte, P * head_dim * b * kv_heads * kv_byte, 0));
  dec.push_back(rec.record("sv_matmul", head_dim * P * h * b * 2, 0, P * b * h * a_byte,
                           head_dim * b * h * a_byte, P * head_dim * b * kv_heads * kv_byte, 0));
  dec.push_back(
      rec.record("softmax", b * h * P * 5, 0, b * h * P * a_byte, b * h * P * a_byte, 0, 0));
  for (const char* norm : {"attn_norm", "mlp_norm"})
    dec.push_back(rec.record(norm, b * d * 7, 0, b * d * a_byte, b * d * a_byte, 0, 0));
  for (const char* add : {"attn_add", "mlp_add"})
    dec.push_back(rec.record(add, b * d, 0, b * d * a_byte, b * d * a_byte, 0, 0));
  // LLM-Viewer sizes the activation by the hidden size, not the MLP width.
  dec.push_back(rec.record("mlp_act", floor_div(b * d * 2 * h, H), 0,
                           floor_div(b * d * a_byte * 2 * h, H), floor_div(b * d * a_byte * h, H),
                           0, 0));

  auto& pre = layer.prefill;
  pre.push_back(rec.record("qk_matmul", P * P * head_dim * h * b * 2, 0,
                           P * head_dim * b * h * a_byte, P * P * b * h * a_byte,
                           P * head_dim * b * h * kv_byte, 0));
  pre.push_back(rec.record("sv_matmul", P * head_dim * P * h * b * 2, 0, P * P * b * h * a_byte,
                           P * head_dim * b * h * a_byte, P * head_dim * b * h * kv_byte, 0));
  pre.push_back(rec.record("softmax", b * h * P * P * 5, 0, b * h * P * P * a_byte,
                           b * h * P * P * a_byte, 0, 0));
  for (const char* norm : {"attn_norm", "mlp_norm"})
    pre.push_back(rec.record(norm, b * d * P * 7, 0, b * d * P * a_byte, b * d * P * a_byte, 0, 0));
  for (const char* add : {"attn_add", "mlp_add"})
    pre.push_back(rec.record(add, b * d * P, 0, b * d * P * a_byte, b * d * P * a_byte, 0, 0));
  pre.push_back(rec.record("mlp_act", floor_div(b * d * P * 2 * h, H), 0,
                           floor_div(b * d * P * a_byte * 2 * h, H),
                           floor_div(b * d * P * a_byte * h, H), 0, 0));
  return layer;
}

AllLayersCost analyze_all_layers(const CostDims& dims, const std::vector<int>& num_heads,
                                 int64_t prompt_len, const CostHardware& hardware,
                                 const CostPrecision& precision, int64_t batch) {
  check_dims(dims);
  ADALLAVA_CHECK(static_cast<int64_t>(num_heads.size()) == dims.layers,
                 "cost model: the plan lists {} layers, the model has {}", num_heads.size(),
                 dims.layers);

  AllLayersCost all;
  LayerCost last_executed;
  bool any_executed = false;
  for (size_t i = 0; i < num_heads.size(); ++i) {
    if (num_heads[i] == -1) continue;
    ADALLAVA_CHECK(num_heads[i] >= 1 && num_heads[i] <= dims.heads,
                   "cost model: layer {} has {} active heads; expected -1 (skipped) or 1..{}", i,
                   num_heads[i], dims.heads);
    LayerCost layer = analyze_one_layer(dims, prompt_len, num_heads[i], hardware, precision, batch);
    for (const auto& op : layer.decode) add_to_totals(all.decode, op);
    for (const auto& op : layer.prefill) add_to_totals(all.prefill, op);
    last_executed = std::move(layer);
    any_executed = true;
  }
  ADALLAVA_CHECK(any_executed, "cost model: the plan skips every layer (all num_heads are -1)");

  // The footprint excludes lm_head: the analyzer computes it before adding lm_head's traffic.
  const double weight_kv_footprint = all.prefill.load_weight + all.prefill.store_kv_cache;
  for (auto* stage : {&all.decode, &all.prefill}) {
    const auto& ops = stage == &all.decode ? last_executed.decode : last_executed.prefill;
    stage->memory_consumption_tmp_act = stored_activations(ops);
    stage->memory_consumption = stage->memory_consumption_tmp_act + weight_kv_footprint;
    stage->memory_consumption_weight = all.prefill.load_weight;
    stage->memory_consumption_kv_cache = all.prefill.store_kv_cache;
  }

  // lm_head runs once per stage for one token: no factor 2, no sequence length.
  const OpRecorder rec(hardware,
                       hardware.peak_ops(precision.w_bits, precision.a_bits, precision.kv_bits));
  const double d = static_cast<double>(dims.hidden), V = static_cast<double>(dims.vocab);
  const double w_byte = precision.w_bits / 8.0, a_byte = precision.a_bits / 8.0;
  const OpCost lm_head = rec.record("lm_head", static_cast<double>(batch) * d * V, d * V * w_byte,
                                    d * a_byte, V * a_byte, 0, 0);
  all.lm_head_prefill = lm_head;
  all.lm_head_decode = lm_head;
  add_to_totals(all.prefill, lm_head);
  add_to_totals(all.decode, lm_head);
  return all;
}

GenerateCost analyze_generate(const CostDims& dims, const std::vector<int>& num_heads,
                              int64_t prompt_len, int64_t gen_len, const CostHardware& hardware,
                              int w_bits, int a_bits, int kv_bits, int64_t batch) {
  ADALLAVA_CHECK(gen_len >= 0, "cost model: gen_len must be >= 0, got {}", gen_len);
  const CostPrecision precision{w_bits, a_bits, kv_bits};
  // The last decode step runs at context P + gen_len - 2; check that one too.
  check_dims(dims);
  check_lengths(dims, prompt_len + std::max<int64_t>(gen_len - 1, 0), batch);

  const AllLayersCost first =
      analyze_all_layers(dims, num_heads, prompt_len, hardware, precision, batch);
  GenerateCost cost;
  cost.prefill_flops = cost.flops = first.prefill.ops;
  cost.prefill_time = first.prefill.inference_time;
  cost.prefill_memory_consumption = cost.memory_consumption = first.prefill.memory_consumption;
  // The first new token comes from the prefill; each further one is a decode step whose
  // context is the previous length (the analyzer's range(P, P + gen_len - 1)).
  for (int64_t context = prompt_len; context < prompt_len + gen_len - 1; ++context) {
    const AllLayersCost step =
        analyze_all_layers(dims, num_heads, context, hardware, precision, batch);
    cost.flops += step.decode.ops;
    cost.memory_consumption += step.decode.memory_consumption;
  }
  // The analyzer divides by gen_len; with no new token it reports the prefill FLOPs.
  cost.avg_flops = gen_len > 0 ? cost.flops / static_cast<double>(gen_len) : cost.prefill_flops;
  return cost;
}

}  // namespace adallava::model
