#include "model/generation.h"

#include <chrono>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "common/error.h"

namespace adallava::model {

namespace {
double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
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
  torch::NoGradGuard no_grad;
  const auto t0 = std::chrono::steady_clock::now();

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
  const auto t1 = std::chrono::steady_clock::now();
  auto inputs = model->prepare_inputs(samples, features, PaddingSide::Left);
  const int64_t B = inputs.embeds.size(0);
  const int64_t T = inputs.embeds.size(1);

  KVCache cache;
  cache.reset(model->config.text.num_layers, T + options.max_new_tokens);
  auto key_valid = torch::zeros({B, T + options.max_new_tokens}, torch::kBool);
  key_valid.slice(1, 0, T).copy_(inputs.attention_mask);

  auto hidden = model->decode(inputs.embeds, key_valid.slice(1, 0, T), inputs.position_ids, &cache);
  auto last_logits = model->logits(hidden.select(1, T - 1));
  const double prefill_ms = ms_since(t1);

  auto generator = at::detail::createCPUGenerator(options.seed);
  std::vector<GenerationResult> results(B);
  std::vector<bool> done(B, false);
  auto next_positions = torch::tensor(inputs.lengths, torch::kInt64).view({B, 1});
  const int64_t eos = model->config.text.eos_token_id;
  const int64_t pad = model->config.text.pad_token_id;
  const auto t2 = std::chrono::steady_clock::now();
  for (int step = 0; step < options.max_new_tokens; ++step) {
    auto next = select_next_tokens(last_logits, options, generator);
    auto next_acc = next.accessor<int64_t, 1>();
    bool all_done = true;
    std::vector<int64_t> feed(B);
    for (int64_t b = 0; b < B; ++b) {
      if (done[b]) {
        feed[b] = pad;
        continue;
      }
      const int64_t tok = next_acc[b];
      results[b].tokens.push_back(tok);
      feed[b] = tok;
      if (options.stop_at_eos && tok == eos) {
        done[b] = true;
        results[b].stopped_by_eos = true;
      }
      all_done = all_done && done[b];
    }
    if (all_done || step + 1 == options.max_new_tokens) break;
    auto ids = torch::tensor(feed, torch::kInt64).view({B, 1});
    auto embeds = torch::embedding(model->model->embed_tokens->weight, ids);
    key_valid.select(1, cache.length).fill_(true);
    hidden = model->decode(embeds, key_valid.slice(1, 0, cache.length + 1), next_positions, &cache);
    last_logits = model->logits(hidden.select(1, 0));
    next_positions = next_positions + 1;
  }
  const double decode_ms = ms_since(t2);
  for (int64_t b = 0; b < B; ++b) {
    results[b].prompt_positions = inputs.lengths[b];
    results[b].image_ms = image_ms;
    results[b].prefill_ms = prefill_ms;
    results[b].decode_ms = decode_ms;
  }
  return results;
}

}  // namespace adallava::model
