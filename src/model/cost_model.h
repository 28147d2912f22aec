// The analytic cost model AdaLLaVA reports: LLM-Viewer's roofline analyzer as the official
// AdaptiveAnalyzer uses it (per-layer active heads, -1 = skipped layer). It estimates FLOPs,
// roofline time and memory footprint of the LLM only; nothing here is measured.
//
// Every byte and OP count is an integer (or a multiple of 1/8 for sub-byte widths) far below
// 2^53, so the doubles below hold them exactly; the derived roofline quantities are computed
// in the analyzer's own operation order and match it bit for bit.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/config.h"

namespace adallava::model {

struct CostHardware {
  std::string name;
  double bandwidth = 0;      // bytes/s
  double peak_fp16_ops = 0;  // OPs/s used unless all of w/a/kv are <= 8 bit
  double peak_int8_ops = 0;  // OPs/s used when all of w/a/kv are <= 8 bit
  double onchip_buffer = 0;  // bytes (only FlashAttention tiling uses it; kept for reports)

  static CostHardware nvidia_v100();  // the default of the official evaluation wrapper
  double peak_ops(int w_bits, int a_bits, int kv_bits) const;
};

struct CostDims {
  int64_t layers = 0, hidden = 0, heads = 0, kv_heads = 0, intermediate = 0, vocab = 0;
};
CostDims cost_dims(const LlamaConfig& config);

struct CostPrecision {
  int w_bits = 16, a_bits = 16, kv_bits = 16;
};

enum class RooflineBound { Memory, Compute };
const char* to_string(RooflineBound bound);

// One operator of one stage, as the analyzer's per-op dict.
struct OpCost {
  std::string name;
  double ops = 0;
  double memory_access = 0;  // bytes: the sum of the five load/store terms
  double arithmetic_intensity = 0;
  double performance = 0;  // OPs/s on the roofline
  RooflineBound bound = RooflineBound::Memory;
  double load_weight = 0, load_act = 0, store_act = 0, load_kv_cache = 0, store_kv_cache = 0;
  double inference_time = 0;  // s
};

// analyze_one_layer: the 15 ops of a decoder layer in the analyzer's order (q, k, v, out, gate,
// up, down, qk_matmul, sv_matmul, softmax, attn_norm, mlp_norm, attn_add, mlp_add, mlp_act).
// "decode" = one new token against a context of prompt_len positions.
struct LayerCost {
  std::vector<OpCost> decode;
  std::vector<OpCost> prefill;
};

// Totals of one stage over the executed layers plus lm_head.
struct StageTotals {
  double ops = 0, memory_access = 0, load_weight = 0, load_act = 0, store_act = 0,
         load_kv_cache = 0, store_kv_cache = 0, inference_time = 0;
  // Footprint: decoder weights + KV cache of the prefill at this length + the last executed
  // layer's stored activations of this stage. Computed before lm_head is added, so it never
  // includes the lm_head weights (load_weight does).
  double memory_consumption = 0, memory_consumption_tmp_act = 0, memory_consumption_weight = 0,
         memory_consumption_kv_cache = 0;
};

struct AllLayersCost {
  StageTotals prefill, decode;
  OpCost lm_head_prefill, lm_head_decode;
};

// The six numbers analyze_generate_task returns (and lmms-eval averages per benchmark).
struct GenerateCost {
  double flops = 0;      // prefill OPs + decode OPs at contexts P .. P+gen_len-2
  double avg_flops = 0;  // flops / gen_len (prefill_flops when gen_len == 0)
  double prefill_flops = 0;
  double prefill_time = 0;        // s, roofline
  double memory_consumption = 0;  // prefill footprint + the footprint of every decode step
  double prefill_memory_consumption = 0;
};

// num_heads: active heads of one layer, 1..heads (an executed layer).
LayerCost analyze_one_layer(const CostDims& dims, int64_t prompt_len, int num_heads,
                            const CostHardware& hardware = CostHardware::nvidia_v100(),
                            const CostPrecision& precision = {}, int64_t batch = 1);

// num_heads: one entry per layer, active heads or -1 for a skipped layer (the list the official
// generate returns). At least one layer must execute.
AllLayersCost analyze_all_layers(const CostDims& dims, const std::vector<int>& num_heads,
                                 int64_t prompt_len,
                                 const CostHardware& hardware = CostHardware::nvidia_v100(),
                                 const CostPrecision& precision = {}, int64_t batch = 1);

// prompt_len as the official code passes it: the prefill length + 1 (golden README finding 3);
// gen_len: the number of new tokens.
GenerateCost analyze_generate(const CostDims& dims, const std::vector<int>& num_heads,
                              int64_t prompt_len, int64_t gen_len,
                              const CostHardware& hardware = CostHardware::nvidia_v100(),
                              int w_bits = 16, int a_bits = 16, int kv_bits = 16,
                              int64_t batch = 1);

}  // namespace adallava::model
