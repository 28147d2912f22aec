// AdaLLaVA = LLaVA + latency encoder + scheduler. The scheduler is the "scheduler" submodule
// of a LlavaForCausalLM (official key names), and a PlanScheduler attached to the model lets
// model::generate serve latency budgets.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "adaptive/sampler.h"
#include "adaptive/scheduler.h"
#include "model/loader.h"
#include "model/pipeline.h"

namespace adallava::adaptive {

// The AdaLLaVA keys of a config.json (num_prefix_layers, scheduler_type, scheduler_rank), or
// nullopt for a plain LLaVA config. Errors name the file and key.
std::optional<UnitSpec> unit_spec_from_config(const model::LlavaConfig& cfg);
// Writes the official keys (and architectures/model_type of AdaLlavaLlamaForCausalLM).
void write_adaptive_config(nlohmann::json& config_json, const UnitSpec& spec);

// Registers the scheduler under "scheduler" and attaches the budget-serving plan scheduler.
Scheduler attach_scheduler(model::LlavaForCausalLMImpl& model, const UnitSpec& spec);
// The attached scheduler, or an empty holder for plain LLaVA.
Scheduler scheduler_of(model::LlavaForCausalLMImpl& model);

// load_llava for both kinds of checkpoint: AdaLLaVA ones get their scheduler.
model::LoadedLlava load_adallava(const std::string& dir, model::LoadOptions options = {});
model::LlavaPipeline load_pipeline(const std::string& dir, model::LoadOptions options = {});

// Where the latency token goes in a training sequence of length n with labels: after the last
// ignored label (i.e. before the last answer); n when no label is ignored after... see .cpp.
int64_t latency_token_position(const std::vector<int64_t>& labels);

// Inserts one latency token per sample into right-padded inputs (embeds/labels/mask/positions)
// at latency_token_position of each sample; positions become 0..n. Returns the positions.
std::vector<int64_t> insert_latency_tokens(model::MultimodalInputs& inputs,
                                           const torch::Tensor& tokens);

// One training-mode forward: budgets as unit counts k per sample, plans sampled with Gumbel
// noise (straight-through), masks multiplied into the scheduled layers, nothing skipped.
struct TrainingForward {
  torch::Tensor logits;  // [B, T+1, V] float32
  torch::Tensor labels;  // [B, T+1] with -100 at the latency tokens
  torch::Tensor loss;    // token-mean cross-entropy over answer tokens
  int64_t loss_tokens = 0;
  torch::Tensor latency_tokens;    // [B, D]
  torch::Tensor scheduler_logits;  // [B, N_s] (L) / [B, L - N_pre, 2H] (H)
  torch::Tensor execution_plans;   // [B, L, 2, H]
  std::vector<int64_t> positions;  // latency token index per sample
};
TrainingForward training_forward(model::LlavaForCausalLMImpl& model, Scheduler& scheduler,
                                 model::MultimodalInputs inputs, const std::vector<int64_t>& k,
                                 double tau, const NoiseSource& noise);

}  // namespace adallava::adaptive

namespace adallava::adaptive {

// Static baselines with the same unit count as the learned plan: the first k switchable units
// (L: the lowest scheduled layers; H: layer by layer, r heads and r MLP groups at a time), or a
// fixed random order of the units drawn once from `seed`. The latency token is still inserted,
// so only the choice of units differs from the learned scheduler.
enum class StaticPolicy { FirstUnits, RandomUnits };
void use_static_plans(model::LlavaForCausalLMImpl& model, StaticPolicy policy, uint64_t seed = 0);
// Parses "first" or "random" (the names used on the command line).
StaticPolicy parse_static_policy(const std::string& name);

}  // namespace adallava::adaptive
