// The cost model against the official AdaptiveAnalyzer (golden adallava/cost_model on the 7B
// config, and the tiny_cost_model of every budget in adallava/infer_{L,H}).
//
// Tolerance: none. Counts (OPs, bytes) are integers and must be equal; the roofline floats
// (arithmetic intensity, performance, times) are computed in the analyzer's operation order and
// must be bit-identical to the Python doubles (JSON written with repr, read back exactly).
#include <cmath>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/files.h"
#include "model/config.h"
#include "model/cost_model.h"
#include "support/paths.h"

using namespace adallava;
using namespace adallava::model;
using adallava::test::golden;
using Catch::Matchers::Contains;

namespace {

const nlohmann::json& cost_golden() {
  static const nlohmann::json j = read_json_file(golden("adallava/cost_model/cost_model.json"));
  return j;
}

CostDims dims_7b() {
  const auto j = read_json_file(golden("adallava/cost_model/llava-v1.5-7b_llm_config/config.json"));
  CostDims d;
  d.layers = j.at("num_hidden_layers").get<int64_t>();
  d.hidden = j.at("hidden_size").get<int64_t>();
  d.heads = j.at("num_attention_heads").get<int64_t>();
  d.kv_heads = j.at("num_key_value_heads").get<int64_t>();
  d.intermediate = j.at("intermediate_size").get<int64_t>();
  d.vocab = j.at("vocab_size").get<int64_t>();
  return d;
}

// The official lists hold ints (7B plans) or floats like 4.0 (from generate); both are whole.
std::vector<int> heads_list(const nlohmann::json& list) {
  std::vector<int> heads;
  for (const auto& v : list) {
    const double x = v.get<double>();
    REQUIRE(x == std::floor(x));
    heads.push_back(static_cast<int>(x));
  }
  return heads;
}

void check_value(const std::string& what, double actual, const nlohmann::json& expected) {
  INFO(what << ": actual " << actual << " expected " << expected.dump());
  CHECK(actual == expected.get<double>());
}

void check_op(const std::string& where, const OpCost& op, const nlohmann::json& e) {
  check_value(where + " OPs", op.ops, e.at("OPs"));
  check_value(where + " memory_access", op.memory_access, e.at("memory_access"));
  check_value(where + " arithmetic_intensity", op.arithmetic_intensity,
              e.at("arithmetic_intensity"));
  check_value(where + " performance", op.performance, e.at("performance"));
  INFO(where << " bound");
  CHECK(std::string(to_string(op.bound)) == e.at("bound").get<std::string>());
  check_value(where + " load_weight", op.load_weight, e.at("load_weight"));
  check_value(where + " load_act", op.load_act, e.at("load_act"));
  check_value(where + " store_act", op.store_act, e.at("store_act"));
  check_value(where + " load_kv_cache", op.load_kv_cache, e.at("load_kv_cache"));
  check_value(where + " store_kv_cache", op.store_kv_cache, e.at("store_kv_cache"));
  check_value(where + " inference_time", op.inference_time, e.at("inference_time"));
}

void check_totals(const std::string& where, const StageTotals& t, const nlohmann::json& e) {
  check_value(where + " OPs", t.ops, e.at("OPs"));
  check_value(where + " memory_access", t.memory_access, e.at("memory_access"));
  check_value(where + " load_weight", t.load_weight, e.at("load_weight"));
  check_value(where + " load_act", t.load_act, e.at("load_act"));
  check_value(where + " store_act", t.store_act, e.at("store_act"));
  check_value(where + " load_kv_cache", t.load_kv_cache, e.at("load_kv_cache"));
  check_value(where + " store_kv_cache", t.store_kv_cache, e.at("store_kv_cache"));
  check_value(where + " inference_time", t.inference_time, e.at("inference_time"));
  check_value(where + " memory_consumption", t.memory_consumption, e.at("memory_consumption"));
  check_value(where + " memory_consumption_tmp_act", t.memory_consumption_tmp_act,
              e.at("memory_consumption_tmp_act"));
  check_value(where + " memory_consumption_weight", t.memory_consumption_weight,
              e.at("memory_consumption_weight"));
  check_value(where + " memory_consumption_kv_cache", t.memory_consumption_kv_cache,
              e.at("memory_consumption_kv_cache"));
}

void check_generate(const std::string& where, const GenerateCost& c, const nlohmann::json& e) {
  REQUIRE(e.size() == 6);
  check_value(where + " flops", c.flops, e.at("flops"));
  check_value(where + " avg_flops", c.avg_flops, e.at("avg_flops"));
  check_value(where + " prefill_flops", c.prefill_flops, e.at("prefill_flops"));
  check_value(where + " prefill_time", c.prefill_time, e.at("prefill_time"));
  check_value(where + " memory_consumption", c.memory_consumption, e.at("memory_consumption"));
  check_value(where + " prefill_memory_consumption", c.prefill_memory_consumption,
              e.at("prefill_memory_consumption"));
}

}  // namespace

TEST_CASE("V100 parameters and 7B dims are the analyzer's", "[model][cost]") {
  const auto& hw = cost_golden().at("hardware_params");
  const auto v100 = CostHardware::nvidia_v100();
  CHECK(cost_golden().at("hardware").get<std::string>() == v100.name);
  CHECK(v100.bandwidth == hw.at("bandwidth").get<double>());
  CHECK(v100.peak_fp16_ops == hw.at("FP16").get<double>());
  CHECK(v100.peak_int8_ops == hw.at("INT8").get<double>());
  CHECK(v100.onchip_buffer == hw.at("onchip_buffer").get<double>());
  CHECK(v100.peak_ops(16, 16, 16) == v100.peak_fp16_ops);
  CHECK(v100.peak_ops(8, 8, 16) == v100.peak_fp16_ops);
  CHECK(v100.peak_ops(8, 8, 8) == v100.peak_int8_ops);

  LlamaConfig llama;  // defaults = LLaMA-7B
  const CostDims from_config = cost_dims(llama), expected = dims_7b();
  CHECK(from_config.layers == expected.layers);
  CHECK(from_config.hidden == expected.hidden);
  CHECK(from_config.heads == expected.heads);
  CHECK(from_config.kv_heads == expected.kv_heads);
  CHECK(from_config.intermediate == expected.intermediate);
  CHECK(from_config.vocab == expected.vocab);
}

TEST_CASE("analyze_one_layer matches every op of the official analyzer", "[model][cost]") {
  const auto& g = cost_golden();
  const int64_t prompt_len = g.at("prompt_len").get<int64_t>();
  const auto& per_heads = g.at("analyze_one_layer");
  REQUIRE(per_heads.size() == 4);
  int ops_checked = 0;
  for (const int h : {32, 24, 16, 8}) {
    const auto& e = per_heads.at(std::to_string(h));
    const LayerCost layer = analyze_one_layer(dims_7b(), prompt_len, h);
    for (const auto& [stage, ops] :
         {std::pair{"decode", &layer.decode}, std::pair{"prefill", &layer.prefill}}) {
      const auto& expected = e.at(stage);
      REQUIRE(ops->size() == expected.size());
      for (const auto& op : *ops) {
        REQUIRE(expected.contains(op.name));
        check_op("h=" + std::to_string(h) + " " + stage + " " + op.name, op, expected.at(op.name));
        ++ops_checked;
      }
    }
  }
  CHECK(ops_checked == 4 * 2 * 15);
}

TEST_CASE("lm_head rows: d*V OPs once per stage", "[model][cost]") {
  const auto& g = cost_golden();
  const auto all =
      analyze_all_layers(dims_7b(), std::vector<int>(32, 32), g.at("prompt_len").get<int64_t>());
  check_op("lm_head prefill", all.lm_head_prefill, g.at("lm_head").at("prefill"));
  check_op("lm_head decode", all.lm_head_decode, g.at("lm_head").at("decode"));
  CHECK(all.lm_head_prefill.ops == 4096.0 * 32000.0);
}

TEST_CASE("every 7B plan: analyze_all_layers totals and analyze_generate_task numbers",
          "[model][cost]") {
  const auto& g = cost_golden();
  const int64_t prompt_len = g.at("prompt_len").get<int64_t>();
  const auto& plans = g.at("plans");
  REQUIRE(plans.size() == 24);
  for (const auto& [name, plan] : plans.items()) {
    const std::vector<int> heads = heads_list(plan.at("num_heads"));
    int executed = 0, head_units = 0;
    for (const int h : heads)
      if (h >= 0) ++executed, head_units += h;
    CHECK(executed == plan.at("executed_layers").get<int>());
    CHECK(head_units == plan.at("head_units").get<int>());

    const auto all = analyze_all_layers(dims_7b(), heads, prompt_len);
    check_totals(name + " prefill", all.prefill, plan.at("analyze_all_layers").at("prefill"));
    check_totals(name + " decode", all.decode, plan.at("analyze_all_layers").at("decode"));
    // lm_head is in the traffic but not in the footprint (finding 7).
    CHECK(all.prefill.load_weight ==
          all.prefill.memory_consumption_weight + all.lm_head_prefill.load_weight);

    check_generate(name + " gen_len 1", analyze_generate(dims_7b(), heads, prompt_len, 1),
                   plan.at("generate_gen_len_1"));
    check_generate(name + " gen_len 8", analyze_generate(dims_7b(), heads, prompt_len, 8),
                   plan.at("generate_gen_len_8"));
  }
}

TEST_CASE("the paper's headline numbers (method doc 4.3)", "[model][cost]") {
  const auto layers_on = [](int n) {
    std::vector<int> heads(32, -1);
    for (int i = 0; i < n; ++i) heads[i] = 32;
    return heads;
  };
  const auto full = analyze_generate(dims_7b(), layers_on(32), 640, 1);
  CHECK(full.prefill_flops == 8507773419520.0);                           // 8.51 T
  CHECK(std::round(full.prefill_time * 1e4) / 10 == 80.8);                // ms
  CHECK(std::round(full.prefill_memory_consumption / 1e8) / 10 == 13.4);  // G
  const auto l19 = analyze_generate(dims_7b(), layers_on(19), 640, 1);
  CHECK(std::round(l19.prefill_flops / 1e10) / 100 == 5.05);
  CHECK(std::round(l19.prefill_time * 1e4) / 10 == 48.1);
  CHECK(std::round(l19.prefill_memory_consumption / 1e8) / 10 == 8.0);
}

TEST_CASE("memory footprint: last executed layer's activations, decode steps summed",
          "[model][cost]") {
  const CostDims d = dims_7b();
  std::vector<int> heads(32, 32);
  heads[30] = 8;
  heads[31] = -1;  // the last executed layer is layer 30, at a quarter of the heads
  const auto all = analyze_all_layers(d, heads, 640);
  const auto last = analyze_one_layer(d, 640, 8);
  double prefill_act = 0, decode_act = 0;
  for (const auto& op : last.prefill) prefill_act += op.store_act;
  for (const auto& op : last.decode) decode_act += op.store_act;
  CHECK(all.prefill.memory_consumption_tmp_act == prefill_act);
  CHECK(all.decode.memory_consumption_tmp_act == decode_act);

  // gen_len 3: footprint of the prefill + decode steps at contexts 640 and 641.
  const auto gen = analyze_generate(d, heads, 640, 3);
  const double expected = all.prefill.memory_consumption + all.decode.memory_consumption +
                          analyze_all_layers(d, heads, 641).decode.memory_consumption;
  CHECK(gen.memory_consumption == expected);
  CHECK(gen.flops ==
        all.prefill.ops + all.decode.ops + analyze_all_layers(d, heads, 641).decode.ops);
  CHECK(gen.avg_flops == gen.flops / 3);
  const auto none = analyze_generate(d, heads, 640, 0);
  CHECK(none.flops == all.prefill.ops);
  CHECK(none.avg_flops == all.prefill.ops);
}

TEST_CASE("tiny config: tiny_cost_model of every budget in infer_L and infer_H", "[model][cost]") {
  const CostDims tiny = cost_dims(load_llava_config(golden("adallava/ada_L")).text);
  CHECK(tiny.layers == 4);
  CHECK(tiny.hidden == 64);
  CHECK(tiny.vocab == 512);
  int checked = 0;
  for (const char* variant : {"infer_L", "infer_H"}) {
    const auto manifest =
        read_json_file(golden(std::string("adallava/") + variant + "/manifest.json"));
    for (const auto& [budget, entry] : manifest.at("budgets").items()) {
      if (entry.contains("error")) continue;
      const int64_t prompt_len = entry.at("official_prompt_len").get<int64_t>();
      const int64_t gen_len = entry.at("official_gen_len").get<int64_t>();
      CHECK(prompt_len == entry.at("prefill_length").get<int64_t>() + 1);  // finding 3
      const auto heads = heads_list(entry.at("official_execution_plan"));
      check_generate(std::string(variant) + " " + budget,
                     analyze_generate(tiny, heads, prompt_len, gen_len),
                     entry.at("tiny_cost_model"));
      ++checked;
    }
  }
  CHECK(checked == 22);
}

TEST_CASE("bad plans and arguments give clear errors", "[model][cost][errors]") {
  const CostDims d = dims_7b();
  CHECK_THROWS_WITH(analyze_all_layers(d, std::vector<int>(32, -1), 640),
                    Contains("skips every layer"));
  CHECK_THROWS_WITH(analyze_all_layers(d, std::vector<int>(31, 32), 640),
                    Contains("lists 31 layers") && Contains("has 32"));
  std::vector<int> zero(32, 32);
  zero[5] = 0;
  CHECK_THROWS_WITH(analyze_all_layers(d, zero, 640), Contains("layer 5 has 0 active heads"));
  std::vector<int> too_many(32, 32);
  too_many[0] = 33;
  CHECK_THROWS_AS(analyze_all_layers(d, too_many, 640), Error);
  CHECK_THROWS_WITH(analyze_generate(d, std::vector<int>(32, 32), 0, 1),
                    Contains("prompt_len must be positive"));
  CHECK_THROWS_WITH(analyze_generate(d, std::vector<int>(32, 32), 640, -1),
                    Contains("gen_len must be >= 0"));
  CHECK_THROWS_WITH(analyze_one_layer(d, 640, 16, CostHardware::nvidia_v100(), {0, 16, 16}),
                    Contains("bit widths"));
  CostDims odd = d;
  odd.heads = 3;
  CHECK_THROWS_WITH(analyze_one_layer(odd, 640, 1), Contains("not a multiple"));
}

// The golden configs never hit a fractional head-scaled count (head_dim * h is whole at 16 bit),
// so the flooring of `* h // H` is checked here on values worked out by hand: hidden 12, 4 heads
// (head_dim 3), 1 active head, 4-bit everything (INT8 peak), prompt 5.
TEST_CASE("sub-byte widths floor the head-scaled counts like Python's //", "[model][cost]") {
  CostDims d;
  d.layers = 1, d.hidden = 12, d.heads = 4, d.kv_heads = 4, d.intermediate = 20, d.vocab = 10;
  const auto hw = CostHardware::nvidia_v100();
  const LayerCost layer = analyze_one_layer(d, 5, 1, hw, {4, 4, 4});
  const auto find = [](const std::vector<OpCost>& ops, const std::string& name) {
    for (const auto& op : ops)
      if (op.name == name) return op;
    FAIL("no op " << name);
    return OpCost{};
  };
  const OpCost q_dec = find(layer.decode, "q_proj");
  CHECK(q_dec.ops == 72);          // 12*12*2*1 // 4
  CHECK(q_dec.load_weight == 18);  // 12*12*0.5*1 // 4
  CHECK(q_dec.load_act == 1);      // 12*0.5*1 // 4 = floor(1.5)
  CHECK(q_dec.store_act == 1);
  CHECK(q_dec.memory_access == 20);
  CHECK(q_dec.arithmetic_intensity == 72.0 / 20.0);
  CHECK(q_dec.bound == RooflineBound::Memory);
  CHECK(q_dec.performance == 3.6 * 900e9);
  CHECK(q_dec.inference_time == 72.0 / (3.6 * 900e9));
  CHECK(find(layer.prefill, "q_proj").load_act == 7);  // 12*5*0.5 // 4 = floor(7.5)
  // K/V cache writes are not scaled by the head fraction, nor floored.
  CHECK(find(layer.decode, "k_proj").store_kv_cache == 6);
  CHECK(find(layer.prefill, "v_proj").store_kv_cache == 30);
  // Decode attention reads the cache of every KV head.
  CHECK(find(layer.decode, "qk_matmul").load_kv_cache == 5 * 3 * 4 * 0.5);
  CHECK(find(layer.prefill, "qk_matmul").load_kv_cache == 5 * 3 * 1 * 0.5);
  const OpCost act = find(layer.decode, "mlp_act");
  CHECK(act.ops == 6);                                   // 12*2*1 // 4
  CHECK(act.load_act == 3);                              // 12*0.5*2*1 // 4
  CHECK(act.store_act == 1);                             // 12*0.5*1 // 4 = floor(1.5)
  CHECK(find(layer.prefill, "mlp_act").store_act == 7);  // 12*5*0.5*1 // 4 = floor(7.5)
  // A compute-bound op at the INT8 roof.
  const LayerCost big = analyze_one_layer(dims_7b(), 640, 32, hw, {8, 8, 8});
  const OpCost gate = find(big.prefill, "gate_proj");
  CHECK(gate.bound == RooflineBound::Compute);
  CHECK(gate.performance == 62e12);
}
