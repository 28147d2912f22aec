// `adallava bench --adaptive`: measured time against the latency budget.
#include <algorithm>
#include <chrono>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "adaptive/adallava.h"
#include "bench_adaptive.h"
#include "common/error.h"
#include "model/generation.h"
#include "model/loader.h"

namespace adallava::cli::bench {

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace

adaptive::UnitSpec adaptive_spec(const AdaptiveModelArgs& a, adaptive::Variant variant) {
  adaptive::UnitSpec spec;
  spec.variant = variant;
  spec.num_layers = a.llm_layers;
  spec.num_prefix_layers = a.prefix_layers;
  spec.num_heads = model::LlamaConfig{}.num_heads;
  spec.scheduler_rank = a.scheduler_rank;
  spec.validate();
  return spec;
}

model::LlavaForCausalLM build_adaptive_model(const AdaptiveModelArgs& a, adaptive::Variant variant,
                                             c10::ScalarType dtype) {
  const auto spec = adaptive_spec(a, variant);
  model::LlavaConfig cfg;  // LlamaConfig defaults are the LLaVA-1.5-7B dimensions
  cfg.text.num_layers = a.llm_layers;
  cfg.text.max_position_embeddings = std::max(4096, a.prompt_tokens + a.decode_tokens + 2);
  // The vision tower is never run here (text-only prompts of the same length stand in for the
  // image features); a tiny one keeps memory for the LLM.
  model::VisionConfig vision;
  vision.hidden_size = 64;
  vision.intermediate_size = 128;
  vision.num_layers = 2;
  vision.num_heads = 2;
  vision.image_size = 28;
  cfg.mm_hidden_size = vision.hidden_size;
  cfg.config_path = "<bench>";
  torch::manual_seed(0);
  const auto t0 = std::chrono::steady_clock::now();
  model::LlavaForCausalLM m(cfg, vision);
  adaptive::attach_scheduler(*m, spec);
  if (dtype != torch::kFloat32) m->to(dtype);
  m->eval();
  spdlog::info("[bench] built {} AdaLLaVA-{} model ({} layers, {} prefix) in {:.1f} s",
               model::compute_dtype_name(dtype), adaptive::variant_name(variant), a.llm_layers,
               a.prefix_layers,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return m;
}

std::vector<SavingsRow> measure_savings(const AdaptiveModelArgs& a, adaptive::Variant variant,
                                        c10::ScalarType dtype, std::vector<double> budgets,
                                        int repeats) {
  if (a.decode_tokens < 2) fail("--decode-tokens must be >= 2 to time decode steps");
  if (std::find(budgets.begin(), budgets.end(), 1.0) == budgets.end()) budgets.push_back(1.0);
  std::sort(budgets.begin(), budgets.end());
  const auto spec = adaptive_spec(a, variant);
  for (double b : budgets) adaptive::units_for_budget(b, spec);  // reject before the slow part
  torch::NoGradGuard no_grad;
  auto m = build_adaptive_model(a, variant, dtype);
  const auto& t = m->config.text;

  torch::manual_seed(1);
  auto ids_tensor = torch::randint(3, t.vocab_size, {a.prompt_tokens}, torch::kInt64);
  model::GenerationRequest request;
  request.ids.assign(ids_tensor.data_ptr<int64_t>(),
                     ids_tensor.data_ptr<int64_t>() + a.prompt_tokens);
  model::GenerationOptions options;
  options.max_new_tokens = a.decode_tokens;
  options.stop_at_eos = false;  // random weights: every run generates the same count

  const std::string dtype_name = model::compute_dtype_name(dtype);
  std::vector<std::vector<double>> prefill(budgets.size()), decode(budgets.size());
  std::vector<std::vector<int>> plans(budgets.size());
  options.budget = 1.0;
  model::generate(m, {request}, options);  // warm-up: first-touch allocations, thread start
  for (int rep = 0; rep < repeats; ++rep) {
    for (size_t i = 0; i < budgets.size(); ++i) {
      options.budget = budgets[i];
      const auto result = model::generate(m, {request}, options).front();
      prefill[i].push_back(result.prefill_ms);
      decode[i].push_back(result.decode_ms / static_cast<double>(result.tokens.size() - 1));
      plans[i] = result.plan;
      spdlog::info(
          "[bench] {} {} budget {:.3f} repeat {}: prefill {:.0f} ms, decode {:.1f} "
          "ms/token",
          dtype_name, adaptive::variant_name(variant), budgets[i], rep + 1, prefill[i].back(),
          decode[i].back());
    }
  }
  std::vector<SavingsRow> rows;
  const size_t full = budgets.size() - 1;
  const double full_prefill = median(prefill[full]), full_decode = median(decode[full]);
  for (size_t i = 0; i < budgets.size(); ++i) {
    SavingsRow r;
    r.dtype = dtype_name;
    r.variant = adaptive::variant_name(variant);
    r.budget = budgets[i];
    r.k = adaptive::units_for_budget(budgets[i], spec);
    r.plan = plans[i];
    int64_t heads = 0;
    for (int h : plans[i]) heads += std::max(0, h);
    r.executed_fraction =
        static_cast<double>(heads) / static_cast<double>(t.num_layers * t.num_heads);
    r.prefill_ms = median(prefill[i]);
    r.prefill_min_ms = *std::min_element(prefill[i].begin(), prefill[i].end());
    r.decode_ms_per_token = median(decode[i]);
    r.decode_min_ms_per_token = *std::min_element(decode[i].begin(), decode[i].end());
    r.prefill_ratio = r.prefill_ms / full_prefill;
    r.decode_ratio = r.decode_ms_per_token / full_decode;
    r.bound = r.executed_fraction * 1.10;
    rows.push_back(r);
  }
  return rows;
}

namespace {

std::string plan_text(const std::vector<int>& plan) {
  std::string s;
  for (size_t i = 0; i < plan.size(); ++i) s += (i ? "," : "") + std::to_string(plan[i]);
  return s;
}

}  // namespace

std::string savings_markdown(const std::vector<SavingsRow>& rows) {
  std::ostringstream os;
  os << "| dtype | variant | budget | k | plan (heads/layer) | executed | prefill ms (median, "
        "min) | prefill / full | decode ms/token (median, min) | decode / full | bound "
        "1.10 x executed | within |\n";
  os << "|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& r : rows) {
    const bool ok = r.prefill_ratio <= r.bound && r.decode_ratio <= r.bound;
    os << fmt::format(
        "| {} | {} | {:.3f} | {} | {} | {:.3f} | {:.0f} ({:.0f}) | {:.3f} | {:.1f} ({:.1f}) | "
        "{:.3f} | {:.3f} | {} |\n",
        r.dtype, r.variant, r.budget, r.k, plan_text(r.plan), r.executed_fraction, r.prefill_ms,
        r.prefill_min_ms, r.prefill_ratio, r.decode_ms_per_token, r.decode_min_ms_per_token,
        r.decode_ratio, r.bound, ok ? "yes" : "NO");
  }
  return os.str();
}

nlohmann::json savings_json(const std::vector<SavingsRow>& rows) {
  auto out = nlohmann::json::array();
  for (const auto& r : rows)
    out.push_back({{"dtype", r.dtype},
                   {"variant", r.variant},
                   {"budget", r.budget},
                   {"k", r.k},
                   {"plan", r.plan},
                   {"executed_fraction", r.executed_fraction},
                   {"prefill_median_ms", r.prefill_ms},
                   {"prefill_min_ms", r.prefill_min_ms},
                   {"decode_median_ms_per_token", r.decode_ms_per_token},
                   {"decode_min_ms_per_token", r.decode_min_ms_per_token},
                   {"prefill_over_full", r.prefill_ratio},
                   {"decode_over_full", r.decode_ratio},
                   {"bound", r.bound},
                   {"within_bound", r.prefill_ratio <= r.bound && r.decode_ratio <= r.bound}});
  return out;
}

}  // namespace adallava::cli::bench
