// For a fixed plan, the training-mode forward (masks multiplied, nothing skipped) and the
// inference forward (skipped layers, sliced heads and neuron groups, active-head KV cache)
// give the same logits (float32, <= 1e-4) - also for grouped-query attention, where the
// reference has no sliced path - and KV-cached decoding equals recomputation.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "ada_fixture.h"
#include "adaptive/plan.h"
#include "model/generation.h"

using namespace adallava;
using namespace adallava::test;

namespace {

constexpr double kTolerance = 1e-4;

model::LlavaForCausalLM random_model(int heads, int kv_heads, int intermediate) {
  model::LlavaConfig cfg;
  cfg.text.vocab_size = 97;
  cfg.text.hidden_size = 64;
  cfg.text.intermediate_size = intermediate;
  cfg.text.num_layers = 4;
  cfg.text.num_heads = heads;
  cfg.text.num_kv_heads = kv_heads;
  cfg.projector_type = "linear";
  model::VisionConfig vision;
  vision.hidden_size = 32;
  vision.intermediate_size = 64;
  vision.num_layers = 2;
  vision.num_heads = 2;
  vision.image_size = 28;
  vision.patch_size = 14;
  cfg.mm_hidden_size = vision.hidden_size;
  torch::manual_seed(heads * 100 + kv_heads);
  model::LlavaForCausalLM m(cfg, vision);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : m->parameters()) p.normal_(0.0, 0.15);
  }
  m->eval();
  return m;
}

// A random 0/1 plan [L, 2, H]: prefix on, scheduled layers off, full or partial.
torch::Tensor random_plan(int64_t layers, int64_t prefix, int64_t heads, int seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  auto plan = torch::ones({layers, 2, heads});
  for (int64_t l = prefix; l < layers; ++l) {
    const int64_t kind = torch::randint(3, {1}, gen).item<int64_t>();
    if (kind == 0) plan[l].zero_();
    if (kind == 2) plan[l] = torch::randint(2, {2, heads}, gen).to(torch::kFloat32);
  }
  return plan;
}

torch::Tensor masked_logits(model::LlavaForCausalLM& m, const torch::Tensor& embeds,
                            const torch::Tensor& plan) {
  const int64_t B = embeds.size(0), T = embeds.size(1);
  auto positions = torch::arange(T, torch::kInt64).repeat({B, 1});
  auto ctx =
      m->step_context(torch::ones({B, T}, torch::kBool), positions, nullptr, torch::kFloat32);
  auto layer_plan = adaptive::training_plan(plan.unsqueeze(0).expand({B, -1, -1, -1}), 0);
  auto x = m->run_layers(embeds, ctx, nullptr, 0, m->config.text.num_layers, &layer_plan);
  return m->logits(m->model->norm(x));
}

torch::Tensor executed_logits(model::LlavaForCausalLM& m, const torch::Tensor& embeds,
                              const torch::Tensor& plan) {
  const int64_t B = embeds.size(0), T = embeds.size(1);
  auto positions = torch::arange(T, torch::kInt64).repeat({B, 1});
  auto layer_plan = adaptive::inference_plan(plan);
  auto hidden = m->decode(embeds, torch::ones({B, T}, torch::kBool), positions, nullptr, nullptr,
                          &layer_plan);
  return m->logits(hidden);
}

}  // namespace

TEST_CASE("masked training forward equals skipped / sliced inference for random plans",
          "[adaptive]") {
  torch::NoGradGuard no_grad;
  // MHA, GQA with 2 query heads per KV head, and d_ff not divisible by the group count.
  for (auto [heads, kv, ff] :
       std::vector<std::tuple<int, int, int>>{{4, 4, 176}, {8, 4, 150}, {8, 2, 203}}) {
    auto m = random_model(heads, kv, ff);
    auto embeds = torch::randn({2, 9, 64});
    for (int seed = 0; seed < 12; ++seed) {
      auto plan = random_plan(4, 1, heads, seed + 31 * heads);
      INFO("heads " << heads << " kv " << kv << " d_ff " << ff << " seed " << seed);
      CHECK(max_diff(masked_logits(m, embeds, plan), executed_logits(m, embeds, plan)) <
            kTolerance);
    }
  }
}

TEST_CASE("sliced layers cache only their active heads and decode like recomputation",
          "[adaptive]") {
  torch::NoGradGuard no_grad;
  for (auto [heads, kv] : std::vector<std::pair<int, int>>{{4, 4}, {8, 2}}) {
    auto m = random_model(heads, kv, 176);
    auto plan_tensor = torch::ones({4, 2, heads});
    plan_tensor[2].zero_();  // skipped
    plan_tensor[3][0].zero_();
    plan_tensor[3][0][1] = 1;  // one head
    plan_tensor[3][1].zero_();
    plan_tensor[3][1][0] = 1;  // one MLP group
    auto plan = adaptive::inference_plan(plan_tensor);
    const int64_t T = 7, steps = 4;
    auto tokens = torch::randint(97, {1, T + steps});
    auto embeds = torch::embedding(m->model->embed_tokens->weight, tokens);
    model::KVCache cache;
    cache.reset(4, T + steps);
    auto valid = torch::ones({1, T + steps}, torch::kBool);
    auto positions = torch::arange(T + steps, torch::kInt64).view({1, -1});
    auto h = m->decode(embeds.slice(1, 0, T), valid.slice(1, 0, T), positions.slice(1, 0, T),
                       &cache, nullptr, &plan);
    CHECK_FALSE(cache.keys[2].defined());  // skipped layer: no entry
    CHECK(cache.keys[3].size(1) == 1);     // one active head (one KV head kept)
    CHECK(cache.keys[0].size(1) == kv);
    for (int64_t s = 0; s < steps; ++s) {
      const int64_t t = T + s;
      h = m->decode(embeds.slice(1, t, t + 1), valid.slice(1, 0, t + 1),
                    positions.slice(1, t, t + 1), &cache, nullptr, &plan);
      auto full = m->decode(embeds.slice(1, 0, t + 1), valid.slice(1, 0, t + 1),
                            positions.slice(1, 0, t + 1), nullptr, nullptr, &plan);
      INFO("heads " << heads << " step " << s);
      CHECK(max_diff(m->logits(h)[0][0], m->logits(full)[0][t]) < kTolerance);
    }
  }
}

TEST_CASE("keeping the first layers equals skipping the others", "[plan][ablation]") {
  auto m = random_model(4, 4, 96);
  auto embeds = torch::randn({2, 7, 64});
  const int64_t B = 2, T = 7;
  auto positions = torch::arange(T, torch::kInt64).repeat({B, 1});
  std::vector<model::LayerUnits> plan(4);
  plan[2].skip = plan[3].skip = true;
  torch::NoGradGuard no_grad;
  auto skipped = m->logits(
      m->decode(embeds, torch::ones({B, T}, torch::kBool), positions, nullptr, nullptr, &plan));
  m->keep_first_layers(2);
  CHECK(m->config.text.num_layers == 2);
  CHECK(m->model->layers->size() == 2);
  for (const auto& p : m->named_parameters()) CHECK(p.key().find("layers.2.") == std::string::npos);
  auto kept =
      m->logits(m->decode(embeds, torch::ones({B, T}, torch::kBool), positions, nullptr, nullptr));
  CHECK((kept - skipped).abs().max().item<double>() == 0.0);
  CHECK_THROWS_WITH(m->keep_first_layers(3), Catch::Contains("cannot keep the first 3 of 2"));
}
