#include "adaptive/adallava.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "adaptive/plan.h"
#include "common/error.h"
#include "data/text/tokenizer.h"

namespace adallava::adaptive {

namespace {

// Serves budgets at inference: the latency token, then deterministic top-k plans.
class BudgetPlanScheduler : public model::PlanScheduler {
 public:
  explicit BudgetPlanScheduler(Scheduler scheduler) : scheduler_(std::move(scheduler)) {}

  void check_budget(double budget) const override {
    units_for_budget(budget, scheduler_->spec);  // throws outside [0, 1]
  }
  torch::Tensor latency_tokens(const std::vector<double>& budgets) override {
    return scheduler_->latency_token(units(budgets));
  }
  int decision_layer() const override {
    return static_cast<int>(scheduler_->spec.num_prefix_layers);
  }
  std::vector<model::LayerPlan> plans(const torch::Tensor& token_states,
                                      const std::vector<double>& budgets) override {
    const auto& spec = scheduler_->spec;
    auto logits = scheduler_->logits(token_states).to(torch::kFloat32);
    const auto k = units(budgets);
    std::vector<model::LayerPlan> out;
    for (size_t b = 0; b < k.size(); ++b) {
      auto sampled = spec.variant == Variant::L
                         ? sample_layers(logits[b], k[b], 1.0, nullptr)
                         : sample_heads(logits[b], k[b], spec.scheduler_rank, 1.0, nullptr);
      out.push_back(inference_plan(execution_plan(sampled, spec)));
    }
    return out;
  }

 private:
  std::vector<int64_t> units(const std::vector<double>& budgets) const {
    std::vector<int64_t> k;
    for (double b : budgets) k.push_back(units_for_budget(b, scheduler_->spec));
    return k;
  }
  Scheduler scheduler_;
};

// Plans that ignore the scheduler's logits: a fixed priority order over the switchable units.
class StaticPlanScheduler : public model::PlanScheduler {
 public:
  StaticPlanScheduler(Scheduler scheduler, std::vector<int64_t> order)
      : scheduler_(std::move(scheduler)), order_(std::move(order)) {}
  void check_budget(double budget) const override { units_for_budget(budget, scheduler_->spec); }
  torch::Tensor latency_tokens(const std::vector<double>& budgets) override {
    std::vector<int64_t> k;
    for (double b : budgets) k.push_back(units_for_budget(b, scheduler_->spec));
    return scheduler_->latency_token(k);
  }
  int decision_layer() const override {
    return static_cast<int>(scheduler_->spec.num_prefix_layers);
  }
  std::vector<model::LayerPlan> plans(const torch::Tensor&,
                                      const std::vector<double>& budgets) override {
    const auto& spec = scheduler_->spec;
    const int64_t upper = spec.num_layers - spec.num_prefix_layers;
    const int64_t per_layer = spec.units_per_layer();
    std::vector<model::LayerPlan> out;
    for (double b : budgets) {
      const int64_t k = units_for_budget(b, spec);
      auto sampled = spec.variant == Variant::L ? torch::zeros({upper})
                                                : torch::zeros({upper, 2 * spec.num_heads});
      for (int64_t i = 0; i < k; ++i) {
        const int64_t unit = order_[i];
        if (spec.variant == Variant::L) {
          sampled[unit] = 1;
        } else {
          const int64_t layer = unit / per_layer, slot = unit % per_layer;
          const int64_t r = spec.scheduler_rank;
          sampled[layer].slice(0, slot * r, (slot + 1) * r).fill_(1);
          sampled[layer]
              .slice(0, spec.num_heads + slot * r, spec.num_heads + (slot + 1) * r)
              .fill_(1);
        }
      }
      out.push_back(inference_plan(execution_plan(sampled, spec)));
    }
    return out;
  }

 private:
  Scheduler scheduler_;
  std::vector<int64_t> order_;
};

int64_t int_key(const model::LlavaConfig& cfg, const char* key) {
  const auto& v = cfg.raw.at(key);
  if (!v.is_number_integer())
    fail("{}: '{}' must be an integer, got {}", cfg.config_path, key, v.dump());
  return v.get<int64_t>();
}

}  // namespace

std::optional<UnitSpec> unit_spec_from_config(const model::LlavaConfig& cfg) {
  if (!cfg.raw.contains("scheduler_type")) return std::nullopt;
  const auto& type = cfg.raw["scheduler_type"];
  if (!type.is_string())
    fail("{}: 'scheduler_type' must be \"L\" or \"H\", got {}", cfg.config_path, type.dump());
  UnitSpec spec;
  try {
    spec.variant = parse_variant(type.get<std::string>());
  } catch (const Error& e) {
    fail("{}: {}", cfg.config_path, e.what());
  }
  if (!cfg.raw.contains("num_prefix_layers"))
    fail("{}: AdaLLaVA config lacks 'num_prefix_layers'", cfg.config_path);
  spec.num_prefix_layers = int_key(cfg, "num_prefix_layers");
  spec.scheduler_rank = cfg.raw.contains("scheduler_rank") ? int_key(cfg, "scheduler_rank") : 8;
  spec.num_layers = cfg.text.num_layers;
  spec.num_heads = cfg.text.num_heads;
  if (cfg.raw.contains("token_selecting") && cfg.raw["token_selecting"] != "none")
    fail("{}: token_selecting {} (PruMerge) is not supported; only \"none\"", cfg.config_path,
         cfg.raw["token_selecting"].dump());
  try {
    spec.validate();
  } catch (const Error& e) {
    fail("{}: {}", cfg.config_path, e.what());
  }
  return spec;
}

void write_adaptive_config(nlohmann::json& j, const UnitSpec& spec) {
  j["architectures"] = {"AdaLlavaLlamaForCausalLM"};
  j["model_type"] = "ada_llava_llama";
  j["num_prefix_layers"] = spec.num_prefix_layers;
  j["scheduler_type"] = variant_name(spec.variant);
  j["scheduler_rank"] = spec.scheduler_rank;
  j["token_selecting"] = "none";
}

Scheduler attach_scheduler(model::LlavaForCausalLMImpl& model, const UnitSpec& spec) {
  if (!model.config.raw.is_object()) model.config.raw = nlohmann::json::object();
  write_adaptive_config(model.config.raw, spec);
  auto scheduler =
      model.register_module("scheduler", Scheduler(spec, model.config.text.hidden_size));
  model.plan_scheduler = std::make_shared<BudgetPlanScheduler>(Scheduler(scheduler));
  return Scheduler(scheduler);
}

Scheduler scheduler_of(model::LlavaForCausalLMImpl& model) {
  for (const auto& item : model.named_children())
    if (item.key() == "scheduler")
      return Scheduler(std::dynamic_pointer_cast<SchedulerImpl>(item.value()));
  return Scheduler(nullptr);
}

model::LoadedLlava load_adallava(const std::string& dir, model::LoadOptions options) {
  options.extend = [](model::LlavaForCausalLMImpl& m) {
    if (auto spec = unit_spec_from_config(m.config)) attach_scheduler(m, *spec);
  };
  return model::load_llava(dir, options);
}

model::LlavaPipeline load_pipeline(const std::string& dir, model::LoadOptions options) {
  options.extend = [](model::LlavaForCausalLMImpl& m) {
    if (auto spec = unit_spec_from_config(m.config)) attach_scheduler(m, *spec);
  };
  return model::LlavaPipeline::load(dir, options);
}

StaticPolicy parse_static_policy(const std::string& name) {
  if (name == "first") return StaticPolicy::FirstUnits;
  if (name == "random") return StaticPolicy::RandomUnits;
  fail("unknown static plan '{}' (expected first or random)", name);
}

void use_static_plans(model::LlavaForCausalLMImpl& model, StaticPolicy policy, uint64_t seed) {
  auto scheduler = scheduler_of(model);
  if (!scheduler) fail("static plans need an AdaLLaVA checkpoint (this one has no scheduler)");
  const int64_t n = scheduler->spec.switchable_units();
  std::vector<int64_t> order(n);
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  if (policy == StaticPolicy::RandomUnits) {
    auto generator = at::detail::createCPUGenerator(seed);
    auto perm = torch::randperm(n, generator, torch::kInt64);
    for (int64_t i = 0; i < n; ++i) order[i] = perm[i].item<int64_t>();
  }
  model.plan_scheduler = std::make_shared<StaticPlanScheduler>(scheduler, std::move(order));
}

int64_t latency_token_position(const std::vector<int64_t>& labels) {
  // After the last ignored position: right before the last answer in training, and at the end
  // of the prompt when nothing is supervised (inference, or a fully masked sample).
  int64_t last_ignored = -1;
  for (int64_t i = 0; i < static_cast<int64_t>(labels.size()); ++i)
    if (labels[i] == text::kIgnoreIndex) last_ignored = i;
  return last_ignored + 1;
}

std::vector<int64_t> insert_latency_tokens(model::MultimodalInputs& inputs,
                                           const torch::Tensor& tokens) {
  const int64_t B = inputs.embeds.size(0), T = inputs.embeds.size(1), D = inputs.embeds.size(2);
  const bool with_labels = inputs.labels.defined();
  auto embeds = torch::zeros({B, T + 1, D}, inputs.embeds.options());
  auto mask = torch::zeros({B, T + 1}, torch::kBool);
  auto positions = torch::zeros({B, T + 1}, torch::kInt64);
  torch::Tensor labels;
  if (with_labels) labels = torch::full({B, T + 1}, text::kIgnoreIndex, torch::kInt64);
  std::vector<int64_t> at(B);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t n = inputs.lengths[b];
    std::vector<int64_t> row_labels(n, text::kIgnoreIndex);
    if (with_labels) {
      auto l = inputs.labels[b].slice(0, 0, n).contiguous();
      row_labels.assign(l.data_ptr<int64_t>(), l.data_ptr<int64_t>() + n);
    }
    const int64_t p = latency_token_position(row_labels);
    at[b] = p;
    auto src = inputs.embeds[b];
    // torch::cat keeps the autograd graph of both the embeddings and the latency token.
    auto row = torch::cat({src.slice(0, 0, p), tokens[b].unsqueeze(0).to(src.scalar_type()),
                           src.slice(0, p, n), src.slice(0, n, T)},
                          0);
    embeds.index_put_({b}, row);
    mask[b].slice(0, 0, n + 1).fill_(true);
    positions[b].slice(0, 0, n + 1).copy_(torch::arange(n + 1, torch::kInt64));
    if (with_labels) {
      labels[b].slice(0, 0, p).copy_(inputs.labels[b].slice(0, 0, p));
      labels[b].slice(0, p + 1, n + 1).copy_(inputs.labels[b].slice(0, p, n));
    }
    inputs.lengths[b] = n + 1;
  }
  inputs.embeds = embeds;
  inputs.attention_mask = mask;
  inputs.position_ids = positions;
  if (with_labels) inputs.labels = labels;
  return at;
}

TrainingForward training_forward(model::LlavaForCausalLMImpl& model, Scheduler& scheduler,
                                 model::MultimodalInputs inputs, const std::vector<int64_t>& k,
                                 double tau, const NoiseSource& noise) {
  const auto& spec = scheduler->spec;
  const int64_t B = inputs.embeds.size(0);
  TORCH_CHECK(static_cast<int64_t>(k.size()) == B, "one unit count per sample");
  for (auto units : k)
    if (units < 0 || units > spec.switchable_units())
      fail("unit count {} outside [0, {}]", units, spec.switchable_units());
  TrainingForward out;
  out.latency_tokens = scheduler->latency_token(k);
  out.positions = insert_latency_tokens(inputs, out.latency_tokens);
  out.labels = inputs.labels;
  const int64_t T = inputs.embeds.size(1);

  auto ctx = model.step_context(inputs.attention_mask, inputs.position_ids, nullptr,
                                inputs.embeds.scalar_type());
  auto x =
      model.run_layers(inputs.embeds, ctx, nullptr, 0, static_cast<int>(spec.num_prefix_layers));
  auto index = torch::tensor(out.positions, torch::kInt64);
  auto states = x.index_select(1, index).diagonal(0, 0, 1).transpose(0, 1);  // [B, D]
  out.scheduler_logits = scheduler->logits(states);
  std::vector<torch::Tensor> plans;
  for (int64_t b = 0; b < B; ++b) {
    auto logits = out.scheduler_logits[b];
    auto sampled = spec.variant == Variant::L
                       ? sample_layers(logits, k[b], tau, &noise)
                       : sample_heads(logits, k[b], spec.scheduler_rank, tau, &noise);
    plans.push_back(execution_plan(sampled, spec));
  }
  out.execution_plans = torch::stack(plans, 0);
  auto layer_plan = training_plan(out.execution_plans, spec.num_prefix_layers);
  x = model.run_layers(x, ctx, nullptr, static_cast<int>(spec.num_prefix_layers),
                       static_cast<int>(spec.num_layers), &layer_plan);
  out.logits = model.logits(model.model->norm(x));
  // Next-token loss over every supervised position of the batch (HF's token mean).
  auto shifted_logits = out.logits.slice(1, 0, T - 1).reshape({-1, out.logits.size(2)});
  auto shifted_labels = out.labels.slice(1, 1, T).reshape({-1});
  out.loss_tokens = shifted_labels.ne(text::kIgnoreIndex).sum().item<int64_t>();
  out.loss = torch::nn::functional::cross_entropy(
      shifted_logits, shifted_labels,
      torch::nn::functional::CrossEntropyFuncOptions().ignore_index(text::kIgnoreIndex));
  return out;
}

}  // namespace adallava::adaptive
