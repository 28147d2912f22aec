#include "train/adallava_objective.h"

#include <torch/torch.h>

#include "adaptive/adallava.h"
#include "common/error.h"

namespace adallava::train {

adaptive::Scheduler prepare_adaptive_model(model::LlavaForCausalLM& model,
                                           const config::TrainConfig& cfg) {
  adaptive::UnitSpec wanted;
  wanted.variant = adaptive::parse_variant(cfg.adaptive.variant);
  wanted.num_layers = model->config.text.num_layers;
  wanted.num_prefix_layers = cfg.adaptive.num_prefix_layers;
  wanted.num_heads = model->config.text.num_heads;
  wanted.scheduler_rank = cfg.adaptive.scheduler_rank;
  try {
    wanted.validate();
  } catch (const Error& e) {
    fail("adaptive: {}", e.what());
  }
  auto existing = adaptive::scheduler_of(*model);
  if (existing) {
    const auto& have = existing->spec;
    if (have.variant != wanted.variant || have.num_prefix_layers != wanted.num_prefix_layers ||
        (have.variant == adaptive::Variant::H && have.scheduler_rank != wanted.scheduler_rank))
      fail(
          "adaptive: the checkpoint's scheduler is {} with num_prefix_layers {} and rank {}, "
          "the recipe asks for {} with {} and {}",
          adaptive::variant_name(have.variant), have.num_prefix_layers, have.scheduler_rank,
          cfg.adaptive.variant, wanted.num_prefix_layers, wanted.scheduler_rank);
    return existing;
  }
  auto scheduler = adaptive::attach_scheduler(*model, wanted);
  const double std = cfg.model.arch.init_std > 0 ? cfg.model.arch.init_std : 0.02;
  auto generator = at::detail::createCPUGenerator(static_cast<uint64_t>(cfg.schedule.seed) + 1);
  scheduler->reset_parameters(std, &generator);
  scheduler->to(model->model->embed_tokens->weight.scalar_type());
  return scheduler;
}

AdaLlavaObjective::AdaLlavaObjective(model::LlavaForCausalLM model, CheckpointAssets assets,
                                     adaptive::Scheduler scheduler, double tau,
                                     double min_train_budget)
    : LlavaObjective(std::move(model), std::move(assets)),
      scheduler_(std::move(scheduler)),
      tau_(tau),
      min_units_(adaptive::units_for_budget(min_train_budget, scheduler_->spec)) {}

std::vector<int64_t> sample_unit_counts(size_t samples, int64_t min_units, int64_t max_units,
                                        at::Generator& rng) {
  if (min_units < 0 || min_units > max_units)
    fail("trainer: no budget level to draw in [{}, {}]", min_units, max_units);
  std::vector<int64_t> k;
  for (size_t i = 0; i < samples; ++i)
    k.push_back(min_units + torch::randint(max_units - min_units + 1, {1}, rng).item<int64_t>());
  return k;
}

std::string AdaLlavaObjective::group_of(const std::string& name) const {
  if (name.rfind("scheduler.scheduler_up_proj.", 0) == 0) return "latency_encoder";
  if (name.rfind("scheduler.", 0) == 0) return "scheduler";
  return LlavaObjective::group_of(name);
}

LossOutput AdaLlavaObjective::forward(const TrainBatch& batch, at::Generator& rng) {
  if (batch.samples.empty()) fail("trainer: empty micro-batch");
  auto& m = model();
  std::vector<torch::Tensor> features;
  if (!batch.images.empty()) features = m->encode_images(torch::stack(batch.images)).unbind(0);
  auto inputs = m->prepare_inputs(batch.samples, features, model::PaddingSide::Right);
  if (!inputs.labels.defined()) fail("trainer: micro-batch samples carry no labels");
  const auto k = sample_unit_counts(batch.samples.size(), min_units_,
                                    scheduler_->spec.switchable_units(), rng);
  auto out =
      adaptive::training_forward(*m, scheduler_, inputs, k, tau_, adaptive::gumbel_noise(rng));
  LossOutput loss = shifted_cross_entropy(out.logits, out.labels);
  for (int64_t n : inputs.lengths) loss.input_tokens += n + 1;
  return loss;
}

}  // namespace adallava::train
