// AdaLLaVA joint training: LLaVA's loss with a random latency budget per sample, a plan drawn
// by the Gumbel sampler, and masks multiplied into the scheduled layers (official recipe).
#pragma once

#include "adaptive/scheduler.h"
#include "config/train_config.h"
#include "train/objective.h"

namespace adallava::train {

// Makes `model` an AdaLLaVA model as the recipe's `adaptive` section says: keeps the scheduler
// of an AdaLLaVA checkpoint (checking it agrees with the recipe), or attaches a new one
// initialised as HF's _init_weights does (Linear N(0, init_std), zero biases, LayerNorm 1/0).
adaptive::Scheduler prepare_adaptive_model(model::LlavaForCausalLM& model,
                                           const config::TrainConfig& cfg);

// One unit count per sample, uniform over {min_units..max_units}.
std::vector<int64_t> sample_unit_counts(size_t samples, int64_t min_units, int64_t max_units,
                                        at::Generator& rng);

class AdaLlavaObjective : public LlavaObjective {
 public:
  // min_train_budget: budgets below it are not trained (their levels are never drawn).
  AdaLlavaObjective(model::LlavaForCausalLM model, CheckpointAssets assets,
                    adaptive::Scheduler scheduler, double tau, double min_train_budget = 0.0);
  // Budgets: one unit count per sample, uniform over {k(min_train_budget)..N_s} (the official
  // training levels (N_prefix + k) / N_total are {0..N_s}); Gumbel noise from `rng`.
  LossOutput forward(const TrainBatch& batch, at::Generator& rng) override;
  // scheduler.scheduler_up_proj.* -> latency_encoder, scheduler.mlp_head.* -> scheduler.
  std::string group_of(const std::string& param_name) const override;

 private:
  adaptive::Scheduler scheduler_;
  double tau_;
  int64_t min_units_;
};

}  // namespace adallava::train
