#include "model/generation.h"

#include <chrono>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "common/error.h"
#include "model/cost_model.h"

namespace adallava::model {

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Requests that share one execution plan decode together; each group owns its cache.
struct RowGroup {
  std::vector<int64_t> rows;  // indices into the request batch
  LayerPlan plan;
  KVCache cache;
  torch::Tensor key_valid;  // [b, capacity]
  torch::Tensor last_logits;
  double prefill_ms = 0, decode_ms = 0;
};

torch::Tensor rows_of(const torch::Tensor& t, const torch::Tensor& index) {
  return t.defined() ? t.index_select(0, index) : t;
}

void decode_group(LlavaForCausalLM& model, RowGroup& g, const std::vector<int64_t>& lengths,
                  const GenerationOptions& options, torch::Generator& generator,
                  std::vector<GenerationResult>& results) {
  const auto t0 = Clock::now();
  const int64_t B = static_cast<int64_t>(g.rows.size());
  std::vector<bool> done(B, false);
  std::vector<int64_t> next_pos(B);
  for (int64_t i = 0; i < B; ++i) next_pos[i] = lengths[g.rows[i]];
  auto next_positions = torch::tensor(next_pos, torch::kInt64).view({B, 1});
  const int64_t eos = model->config.text.eos_token_id;
  const int64_t pad = model->config.text.pad_token_id;
  const LayerPlan* plan = g.plan.empty() ? nullptr : &g.plan;
  auto last_logits = g.last_logits;
  for (int step = 0; step < options.max_new_tokens; ++step) {
    auto next = select_next_tokens(last_logits, options, generator);
    auto next_acc = next.accessor<int64_t, 1>();
    bool all_done = true;
    std::vector<int64_t> feed(B);
    for (int64_t i = 0; i < B; ++i) {
      auto& result = results[g.rows[i]];
      if (done[i]) {
        feed[i] = pad;
        continue;
      }
      const int64_t tok = next_acc[i];
      result.tokens.push_back(tok);
      feed[i] = tok;
      if (options.stop_at_eos && tok == eos) {
        done[i] = true;
        result.stopped_by_eos = true;
      }
      all_done = all_done && done[i];
    }
    if (all_done || step + 1 == options.max_new_tokens) break;
    auto ids = torch::tensor(feed, torch::kInt64).view({B, 1});
    auto embeds = torch::embedding(model->model->embed_tokens->weight, ids);
    g.key_valid.select(1, g.cache.length).fill_(true);
    auto hidden = model->decode(embeds, g.key_valid.slice(1, 0, g.cache.length + 1), next_positions,
                                &g.cache, nullptr, plan);
    last_logits = model->logits(hidden.select(1, 0));
    next_positions = next_positions + 1;
  }
  g.decode_ms = ms_since(t0);
}

}  // namespace

torch::Tensor select_next_tokens(const torch::Tensor& logits, const GenerationOptions& options,
                                 torch::Generator& generator) {
  if (options.temperature <= 0.0) return logits.argmax(-1);
  // HF order: temperature, then top-p on the tempered distribution.
  auto scores = logits / options.temperature;
  if (options.top_p && *options.top_p < 1.0) {
    auto sorted = scores.sort(-1, /*descending=*/false);
    auto sorted_scores = std::get<0>(sorted);
    auto sorted_idx = std::get<1>(sorted);
    auto cumulative = sorted_scores.softmax(-1).cumsum(-1);
    auto remove_sorted = cumulative <= (1.0 - *options.top_p);
    remove_sorted.select(-1, remove_sorted.size(-1) - 1).fill_(false);  // keep at least one
    auto remove = torch::zeros_like(remove_sorted).scatter(-1, sorted_idx, remove_sorted);
    scores = scores.masked_fill(remove, -std::numeric_limits<float>::infinity());
  }
  auto probs = scores.softmax(-1);
  return torch::multinomial(probs, 1, /*replacement=*/false, generator).squeeze(-1);
}

std::vector<GenerationResult> generate(LlavaForCausalLM& model,
                                       const std::vector<GenerationRequest>& requests,
                                       const GenerationOptions& options) {
  if (requests.empty()) return {};
  if (options.max_new_tokens < 0)
    fail("max_new_tokens must be >= 0, got {}", options.max_new_tokens);
  if (options.top_p && (*options.top_p <= 0.0 || *options.top_p > 1.0))
    fail("top_p must be in (0, 1], got {}", *options.top_p);
  auto* scheduler = model->plan_scheduler.get();
  const double budget = options.budget.value_or(1.0);
  if (scheduler) {
    scheduler->check_budget(budget);
  } else if (!(budget == 1.0)) {
    fail("latency budget {} needs an AdaLLaVA checkpoint (this one has no scheduler; only 1.0)",
         budget);
  }
  torch::NoGradGuard no_grad;
  const auto t0 = Clock::now();

  // Vision: all images of the batch in one tower call.
  std::vector<torch::Tensor> pixel_list;
  for (const auto& r : requests) {
    if (!r.pixels.defined()) continue;
    pixel_list.push_back(r.pixels.dim() == 3 ? r.pixels.unsqueeze(0) : r.pixels);
  }
  std::vector<torch::Tensor> features;
  if (!pixel_list.empty()) {
    auto all = model->encode_images(torch::cat(pixel_list, 0));
    for (int64_t i = 0; i < all.size(0); ++i) features.push_back(all[i]);
  }
  const double image_ms = ms_since(t0);

  std::vector<SampleTokens> samples;
  for (const auto& r : requests) samples.push_back({r.ids, {}});
  const auto t1 = Clock::now();
  auto inputs = model->prepare_inputs(samples, features, PaddingSide::Left);
  const int64_t B = inputs.embeds.size(0);
  const std::vector<double> budgets(B, budget);
  if (scheduler) {
    // The latency token follows the last prompt token with the next position of its row
    // (left padding puts every last token in the same column).
    auto tokens = scheduler->latency_tokens(budgets).to(inputs.embeds.scalar_type());
    inputs.embeds = torch::cat({inputs.embeds, tokens.unsqueeze(1)}, 1);
    inputs.attention_mask =
        torch::cat({inputs.attention_mask, torch::ones({B, 1}, torch::kBool)}, 1);
    auto next = torch::tensor(inputs.lengths, torch::kInt64).view({B, 1});
    inputs.position_ids = torch::cat({inputs.position_ids, next}, 1);
    for (auto& n : inputs.lengths) ++n;
  }
  const int64_t T = inputs.embeds.size(1);
  const int64_t capacity = T + options.max_new_tokens;
  const int num_layers = model->config.text.num_layers;

  KVCache shared;
  shared.reset(num_layers, capacity);
  auto key_valid = torch::zeros({B, capacity}, torch::kBool);
  key_valid.slice(1, 0, T).copy_(inputs.attention_mask);
  auto ctx = model->step_context(key_valid.slice(1, 0, T), inputs.position_ids, &shared,
                                 inputs.embeds.scalar_type());

  // Layers before the decision run for the whole batch; then requests split by plan.
  const int decision = scheduler ? scheduler->decision_layer() : num_layers;
  auto x = model->run_layers(inputs.embeds, ctx, &shared, 0, decision);
  std::vector<LayerPlan> plans(B);
  if (scheduler) plans = scheduler->plans(x.select(1, T - 1), budgets);
  const double shared_ms = ms_since(t1);

  std::vector<RowGroup> groups;
  for (int64_t b = 0; b < B; ++b) {
    bool placed = false;
    for (auto& g : groups)
      if (same_units(g.plan, plans[b])) {
        g.rows.push_back(b);
        placed = true;
        break;
      }
    if (!placed) groups.push_back({{b}, plans[b], {}, {}, {}});
  }

  auto generator = at::detail::createCPUGenerator(options.seed);
  std::vector<GenerationResult> results(B);
  for (auto& g : groups) {
    const auto tg = Clock::now();
    const bool whole = groups.size() == 1;
    auto index = torch::tensor(g.rows, torch::kInt64);
    g.cache.reset(num_layers, capacity);
    for (int i = 0; i < decision; ++i) {
      g.cache.keys[i] = whole ? shared.keys[i] : rows_of(shared.keys[i], index);
      g.cache.values[i] = whole ? shared.values[i] : rows_of(shared.values[i], index);
    }
    g.key_valid = whole ? key_valid : key_valid.index_select(0, index);
    AttentionContext gctx = ctx;
    if (!whole) {
      gctx.cos = ctx.cos.index_select(0, index);
      gctx.sin = ctx.sin.index_select(0, index);
      gctx.mask = rows_of(ctx.mask, index);
    }
    auto gx = whole ? x : x.index_select(0, index);
    const LayerPlan* plan = g.plan.empty() ? nullptr : &g.plan;
    gx = model->run_layers(gx, gctx, &g.cache, decision, num_layers, plan);
    g.cache.length = T;
    g.last_logits = model->logits(model->model->norm(gx.select(1, T - 1)));
    g.prefill_ms = shared_ms + ms_since(tg);
    decode_group(model, g, inputs.lengths, options, generator, results);
    const auto heads = active_heads_per_layer(g.plan, num_layers, model->config.text.num_heads);
    const auto dims = cost_dims(model->config.text);
    for (auto b : g.rows) {
      auto& r = results[b];
      r.prompt_positions = inputs.lengths[b];
      // The official AdaLLaVA report counts one more prompt position than it prefills.
      const int64_t cost_prompt = r.prompt_positions + (scheduler ? 1 : 0);
      const auto cost =
          analyze_generate(dims, heads, cost_prompt, static_cast<int64_t>(r.tokens.size()));
      r.prefill_flops = cost.prefill_flops;
      r.flops = cost.flops;
      r.image_ms = image_ms;
      r.prefill_ms = g.prefill_ms;
      r.decode_ms = g.decode_ms;
      r.plan = heads;
    }
  }
  return results;
}

}  // namespace adallava::model
