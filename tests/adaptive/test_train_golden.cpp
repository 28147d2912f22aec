// Training mode against the official code with its recorded budget and Gumbel noise: loss,
// logits, latency-token position and labels, plan, and the gradients with respect to the
// plan, the scheduler logits, the latency token and every scheduler parameter. Also the
// inference-mode (skipped / sliced) forward on the same sequence and plan.
#include <catch2/catch.hpp>

#include "ada_fixture.h"
#include "adaptive/plan.h"

using namespace adallava;
using namespace adallava::test;

namespace {

constexpr double kLogitTolerance = 1e-4;
constexpr double kGradTolerance = 1e-5;  // absolute; gradients here are O(1e-2..1)

void check_case(const std::string& variant, const std::string& sample, const std::string& name,
                const nlohmann::json& info) {
  const auto& ref = ada_reference("train_" + variant);
  auto& loaded = ada_model(variant);
  auto& m = loaded.model;
  auto scheduler = adaptive::scheduler_of(*m);
  const std::string key = sample + "_" + name;
  const int64_t k = info["k"].get<int64_t>();
  INFO(variant << " " << key);

  model::SampleTokens tokens{ids_of(ref.at(sample + "_input_ids")),
                             ids_of(ref.at(sample + "_labels"))};
  torch::Tensor features;
  {
    torch::NoGradGuard no_grad;
    features = m->encode_images(ref.at("input_pixel_values"))[0];
  }
  auto inputs = m->prepare_inputs({tokens}, {features}, model::PaddingSide::Right);

  // The recorded noise, one row per sampler call.
  adaptive::NoiseSource noise = [&](const char* role, int64_t step, int64_t size) {
    std::string tensor = key + "_noise_gumbel";
    if (variant == "H") tensor += std::string("_") + role;
    if (!ref.has(tensor)) return torch::zeros({size});
    return ref.at(tensor)[step].reshape({-1});
  };
  m->zero_grad();
  auto out = adaptive::training_forward(*m, scheduler, inputs, {k}, 5.0, noise);
  CHECK(out.positions[0] == info["latency_token_position"].get<int64_t>());
  CHECK(out.logits.size(1) == info["sequence_length_with_latency"].get<int64_t>());
  if (ref.has(key + "_labels_with_latency"))
    CHECK(ids_of(out.labels[0]) == ids_of(ref.at(key + "_labels_with_latency")));
  if (info["loss"].is_string()) {  // every label ignored: the official loss is NaN
    CHECK(std::isnan(out.loss.item<double>()));
    return;
  }
  CHECK(std::abs(out.loss.item<double>() - info["loss"].get<double>()) < 1e-5);
  CHECK(out.loss_tokens == info["n_loss_tokens"].get<int64_t>());
  CHECK(max_diff(out.logits[0], ref.at(key + "_logits")) < kLogitTolerance);
  CHECK(max_diff(out.latency_tokens[0], ref.at(key + "_latency_token_embedding")) < 1e-5);
  CHECK(max_diff(out.scheduler_logits[0].reshape({-1}), ref.at(key + "_scheduler_logits")) < 1e-5);
  CHECK(max_diff(out.execution_plans[0], ref.at(key + "_execution_plan")) == 0.0);

  // With k = 0 nothing is sampled, so no gradient reaches the plan or the head: the
  // reference records zeros there, and so do we (an undefined gradient is zero).
  for (auto* t : {&out.execution_plans, &out.scheduler_logits, &out.latency_tokens})
    if (t->requires_grad()) t->retain_grad();
  out.loss.backward();
  auto grad_or_zero = [](const torch::Tensor& t) {
    return t.grad().defined() ? t.grad() : torch::zeros_like(t);
  };
  CHECK(max_diff(grad_or_zero(out.execution_plans)[0], ref.at(key + "_grad_execution_plan")) <
        kGradTolerance);
  CHECK(max_diff(grad_or_zero(out.scheduler_logits)[0].reshape({-1}),
                 ref.at(key + "_grad_scheduler_logits")) < kGradTolerance);
  CHECK(max_diff(grad_or_zero(out.latency_tokens)[0],
                 ref.at(key + "_grad_latency_token_embedding")) < kGradTolerance);
  for (const auto& p : scheduler->named_parameters()) {
    INFO("scheduler." << p.key());
    CHECK(max_diff(grad_or_zero(p.value()), ref.at(key + "_grad_scheduler." + p.key())) <
          kGradTolerance);
  }

  // Inference mode with the same plan: skipped and sliced execution, same logits.
  torch::NoGradGuard no_grad;
  auto eval_inputs = inputs;
  adaptive::insert_latency_tokens(eval_inputs, out.latency_tokens.detach());
  auto ctx = m->step_context(eval_inputs.attention_mask, eval_inputs.position_ids, nullptr,
                             torch::kFloat32);
  auto plan = adaptive::inference_plan(out.execution_plans[0]);
  auto x = m->run_layers(eval_inputs.embeds, ctx, nullptr, 0, m->config.text.num_layers, &plan);
  auto eval_logits = m->logits(m->model->norm(x))[0];
  CHECK(max_diff(eval_logits, ref.at(key + "_eval_logits")) < kLogitTolerance);
  CHECK(max_diff(eval_logits, out.logits[0].detach()) < kLogitTolerance);
}

void check_variant(const std::string& variant) {
  const auto& ref = ada_reference("train_" + variant);
  int cases = 0;
  for (const auto& [sample, s] : ref.manifest["samples"].items())
    for (const auto& [name, info] : s["cases"].items()) {
      check_case(variant, sample, name, info);
      ++cases;
    }
  CHECK(cases >= 9);
}

}  // namespace

TEST_CASE("AdaLLaVA-L training forward and gradients match the official code",
          "[adaptive][golden]") {
  check_variant("L");
}

TEST_CASE("AdaLLaVA-H training forward and gradients match the official code",
          "[adaptive][golden]") {
  check_variant("H");
}
