// Inference against the official AdaLLaVA code, per budget: k and q, latency encoding and
// token, the token's position, the scheduler input and logits, the plan, the prefill logits
// at every position (float32, <= 1e-4) and the greedy tokens; rejected budgets rejected.
#include <catch2/catch.hpp>

#include "ada_fixture.h"
#include "adaptive/plan.h"
#include "model/generation.h"

using namespace adallava;
using namespace adallava::test;

namespace {

constexpr double kLogitTolerance = 1e-4;
constexpr double kStateTolerance = 1e-5;

struct Prefill {
  int64_t position = 0;
  torch::Tensor latency_features, latency_token, embeds, scheduler_input, scheduler_logits;
  torch::Tensor plan;  // [L, 2, H]
  std::vector<torch::Tensor> layer_inputs;
  torch::Tensor logits;  // [T+1, V]
};

// The prefill of model::generate, step by step, keeping what the reference recorded.
Prefill run_prefill(model::LoadedLlava& loaded, const std::vector<int64_t>& ids,
                    const torch::Tensor& pixels, double budget) {
  torch::NoGradGuard no_grad;
  auto& m = loaded.model;
  auto scheduler = adaptive::scheduler_of(*m);
  const auto& spec = scheduler->spec;
  const int64_t k = adaptive::units_for_budget(budget, spec);
  Prefill out;
  out.latency_features = adaptive::latency_features(
      torch::tensor({adaptive::encoder_value(k, spec)}, torch::kFloat64));
  out.latency_token = scheduler->latency_token({k});
  auto features = m->encode_images(pixels);
  auto inputs = m->prepare_inputs({{ids, {}}}, {features[0]}, model::PaddingSide::Left);
  out.position = adaptive::insert_latency_tokens(inputs, out.latency_token)[0];
  out.embeds = inputs.embeds[0];
  auto ctx = m->step_context(inputs.attention_mask, inputs.position_ids, nullptr, torch::kFloat32);
  auto x = m->run_layers(inputs.embeds, ctx, nullptr, 0, spec.num_prefix_layers, nullptr,
                         &out.layer_inputs);
  out.scheduler_input = x[0][out.position];
  out.scheduler_logits = scheduler->logits(x.select(1, out.position))[0];
  auto sampled =
      spec.variant == adaptive::Variant::L
          ? adaptive::sample_layers(out.scheduler_logits, k, 1.0, nullptr)
          : adaptive::sample_heads(out.scheduler_logits, k, spec.scheduler_rank, 1.0, nullptr);
  out.plan = adaptive::execution_plan(sampled, spec);
  auto plan = adaptive::inference_plan(out.plan);
  x = m->run_layers(x, ctx, nullptr, spec.num_prefix_layers, spec.num_layers, &plan,
                    &out.layer_inputs);
  out.layer_inputs.push_back(m->model->norm(x));
  out.logits = m->logits(m->model->norm(x))[0];
  return out;
}

void check_variant(const std::string& variant) {
  const auto& ref = ada_reference("infer_" + variant);
  auto& loaded = ada_model(variant);
  const auto ids = ids_of(ref.at("input_ids"));
  const auto pixels = ref.at("input_pixel_values");
  const auto spec = adaptive::scheduler_of(*loaded.model)->spec;
  for (const auto& [key, b] : ref.manifest["budgets"].items()) {
    if (b.contains("error")) {
      INFO(variant << " " << key << " must be rejected");
      const double budget = b["budget"].is_number() ? b["budget"].get<double>() : std::nan("");
      CHECK_THROWS_WITH(adaptive::units_for_budget(budget, spec),
                        Catch::Contains("between 0 and 1"));
      model::GenerationOptions options;
      options.budget = budget;
      options.max_new_tokens = 2;
      CHECK_THROWS_WITH(model::generate(loaded.model, {{ids, pixels[0]}}, options),
                        Catch::Contains("between 0 and 1"));
      continue;
    }
    const double budget = b["budget"].get<double>();
    INFO(variant << " budget " << budget);
    CHECK(adaptive::units_for_budget(budget, spec) == b["k"].get<int64_t>());
    CHECK(spec.prefix_units() == b["units_prefix"].get<int64_t>());
    CHECK(spec.total_units() == b["units_total"].get<int64_t>());
    CHECK(static_cast<float>(adaptive::encoder_value(b["k"], spec)) == b["q"].get<float>());

    auto p = run_prefill(loaded, ids, pixels, budget);
    CHECK(p.position == b["latency_token_position"].get<int64_t>());
    CHECK(p.embeds.size(0) == b["prefill_length"].get<int64_t>());
    CHECK(max_diff(p.latency_features[0], ref.at(key + "_latency_encoding")) < 1e-6);
    CHECK(max_diff(p.latency_token[0], ref.at(key + "_latency_token_embedding")) < kStateTolerance);
    CHECK(max_diff(p.embeds, ref.at(key + "_inputs_embeds")) < kStateTolerance);
    CHECK(max_diff(p.scheduler_input, ref.at(key + "_scheduler_input")) < kStateTolerance);
    CHECK(max_diff(p.scheduler_logits.reshape({-1}), ref.at(key + "_scheduler_logits")) <
          kStateTolerance);
    CHECK(max_diff(p.plan, ref.at(key + "_execution_plan")) == 0.0);
    auto hidden = ref.at(key + "_hidden_states");
    REQUIRE(static_cast<int64_t>(p.layer_inputs.size()) == hidden.size(0));
    for (int64_t i = 0; i < hidden.size(0); ++i)
      CHECK(max_diff(p.layer_inputs[i][0], hidden[i]) < kStateTolerance);
    const double logit_diff = max_diff(p.logits, ref.at(key + "_logits"));
    CHECK(logit_diff < kLogitTolerance);

    // End to end through model::generate (KV cache, skipped/sliced layers, plan kept).
    model::GenerationOptions options;
    options.budget = budget;
    options.max_new_tokens = 8;
    options.stop_at_eos = false;
    auto results = model::generate(loaded.model, {{ids, pixels[0]}}, options);
    CHECK(results[0].tokens == ids_of(ref.at(key + "_generated_ids")));
    std::vector<int> official;
    for (const auto& h : b["official_execution_plan"])
      official.push_back(static_cast<int>(h.get<double>()));
    CHECK(results[0].plan == official);
    CHECK(results[0].prompt_positions + 1 == b["official_prompt_len"].get<int64_t>());
    // The analytic cost of this answer, as the official analyzer computed it on this model.
    CHECK(results[0].prefill_flops == b["tiny_cost_model"]["prefill_flops"].get<double>());
    CHECK(results[0].flops == b["tiny_cost_model"]["flops"].get<double>());
  }
}

}  // namespace

TEST_CASE("AdaLLaVA-L inference matches the official code at every budget", "[adaptive][golden]") {
  check_variant("L");
}

TEST_CASE("AdaLLaVA-H inference matches the official code at every budget", "[adaptive][golden]") {
  check_variant("H");
}

TEST_CASE("a batch of mixed budgets equals each request alone", "[adaptive]") {
  const auto& ref = ada_reference("infer_H");
  auto& loaded = ada_model("H");
  const auto ids = ids_of(ref.at("input_ids"));
  const auto pixels = ref.at("input_pixel_values")[0];
  // Two prompt lengths and three budgets: rows split into plan groups after the prefix.
  std::vector<int64_t> shorter(ids.begin(), ids.end() - 3);
  shorter.push_back(ids.back());
  std::vector<model::GenerationRequest> requests = {{ids, pixels}, {shorter, pixels}};
  for (double budget : {1.0, 0.75, 0.5}) {
    model::GenerationOptions options;
    options.budget = budget;
    options.max_new_tokens = 6;
    options.stop_at_eos = false;
    auto batch = model::generate(loaded.model, requests, options);
    for (size_t i = 0; i < requests.size(); ++i) {
      auto alone = model::generate(loaded.model, {requests[i]}, options);
      INFO("budget " << budget << " row " << i);
      CHECK(batch[i].tokens == alone[0].tokens);
      CHECK(batch[i].plan == alone[0].plan);
    }
  }
}
