// The plan samplers: exact inference outputs of the official sampler, training-mode inclusion
// frequencies (statistically: k draws without replacement from softmax(logits)), exactly k
// units per draw, H allocation invariants, and straight-through gradients reaching the logits.
#include <cmath>

#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "ada_fixture.h"
#include "adaptive/sampler.h"

using namespace adallava;
using namespace adallava::test;

namespace {

// Empirical inclusion frequencies of `draws` training-mode samples.
torch::Tensor inclusion(const std::function<torch::Tensor(const adaptive::NoiseSource&)>& sample,
                        int draws, uint64_t seed) {
  auto noise = adaptive::gumbel_noise(at::detail::createCPUGenerator(seed));
  torch::Tensor sum;
  torch::NoGradGuard no_grad;
  for (int i = 0; i < draws; ++i) {
    auto m = sample(noise);
    sum = sum.defined() ? sum + m : m.clone();
  }
  return sum.to(torch::kFloat64) / draws;
}

}  // namespace

TEST_CASE("inference plans equal the official sampler's outputs", "[adaptive][golden]") {
  const auto& ref = ada_reference("sampler");
  int checked = 0;
  for (const auto& [name, c] : ref.manifest["cases_L"].items()) {
    const auto stem = name.substr(0, name.rfind("_k"));
    auto logits = ref.at("L_" + stem + "_logits");
    auto out = adaptive::sample_layers(logits, c["k"].get<int64_t>(), 5.0, nullptr);
    INFO("L " << name);
    CHECK(max_diff(out, ref.at("L_" + name + "_inference_output")) == 0.0);
    ++checked;
  }
  for (const auto& [name, c] : ref.manifest["cases_H"].items()) {
    const auto stem = name.substr(0, name.rfind("_k"));
    auto logits = ref.at("H_" + stem + "_logits");
    auto out =
        adaptive::sample_heads(logits, c["k"].get<int64_t>(), c["r"].get<int64_t>(), 5.0, nullptr);
    INFO("H " << name);
    CHECK(max_diff(out, ref.at("H_" + name + "_inference_output")) == 0.0);
    ++checked;
  }
  CHECK(checked == 16);
}

TEST_CASE("L training draws are k units without replacement from softmax(logits)",
          "[adaptive][golden]") {
  const auto& ref = ada_reference("sampler");
  constexpr int kDraws = 4000;
  for (const auto& [name, c] : ref.manifest["cases_L"].items()) {
    const auto stem = name.substr(0, name.rfind("_k"));
    auto logits = ref.at("L_" + stem + "_logits");
    const int64_t k = c["k"].get<int64_t>();
    auto freq = inclusion(
        [&](const adaptive::NoiseSource& n) {
          auto m = adaptive::sample_layers(logits, k, 5.0, &n);
          REQUIRE(m.sum().item<double>() == Approx(k).margin(1e-6));
          return m;
        },
        kDraws, 1000 + k);
    // Exact Plackett-Luce inclusion probabilities (computed by the reference), binomial z-test.
    auto exact = torch::tensor(c["exact_PL_inclusion_softmax_logits"].get<std::vector<double>>(),
                               torch::kFloat64);
    auto sd = (exact * (1 - exact) / kDraws).sqrt().clamp_min(1e-9);
    const double z = ((freq - exact).abs() / sd).max().item<double>();
    INFO("L " << name << " max |z| = " << z);
    CHECK(z < 4.5);
    // And not the tempered distribution, which the reference rules out.
    auto tempered =
        torch::tensor(c["exact_PL_inclusion_softmax_logits_over_tau"].get<std::vector<double>>(),
                      torch::kFloat64);
    if (k < logits.size(0)) CHECK((freq - tempered).abs().max().item<double>() > 0.05);
  }
}

TEST_CASE("H training draws match the official sampler's frequencies", "[adaptive][golden]") {
  const auto& ref = ada_reference("sampler");
  constexpr int kDraws = 2000;
  for (const auto& [name, c] : ref.manifest["cases_H"].items()) {
    const auto stem = name.substr(0, name.rfind("_k"));
    auto logits = ref.at("H_" + stem + "_logits");
    const int64_t k = c["k"].get<int64_t>(), r = c["r"].get<int64_t>();
    auto freq = inclusion(
        [&](const adaptive::NoiseSource& n) {
          return adaptive::sample_heads(logits, k, r, 5.0, &n);
        },
        kDraws, 2000 + k);
    auto theirs = ref.at("H_" + name + "_inclusion_freq").to(torch::kFloat64);
    const double n_ref = c["n_samples"].get<double>();
    // Two-sample z-test on every unit's inclusion frequency.
    auto pooled = (freq * kDraws + theirs * n_ref) / (kDraws + n_ref);
    auto sd = (pooled * (1 - pooled) * (1.0 / kDraws + 1.0 / n_ref)).sqrt().clamp_min(1e-9);
    const double z = ((freq - theirs).abs() / sd).max().item<double>();
    INFO("H " << name << " max |z| = " << z);
    CHECK(z < 5.0);
  }
}

TEST_CASE("H allocation invariants", "[adaptive]") {
  torch::manual_seed(7);
  const int64_t layers = 3, heads = 8, r = 2;
  auto noise = adaptive::gumbel_noise(at::detail::createCPUGenerator(11));
  for (int64_t k = 0; k <= layers * heads / r; ++k) {
    for (bool training : {false, true}) {
      auto logits = torch::randn({layers, 2 * heads});
      auto m = adaptive::sample_heads(logits, k, r, 5.0, training ? &noise : nullptr).detach();
      INFO("k " << k << (training ? " training" : " inference"));
      CHECK(((m == 0) | (m == 1)).all().item<bool>());
      CHECK(m.sum().item<double>() == 2.0 * k * r);
      auto per_layer = m.view({layers, 2, heads}).sum(2);  // [layers, 2]
      // Heads and MLP groups come in equal counts, r at a time, inside one layer.
      CHECK(per_layer.select(1, 0).equal(per_layer.select(1, 1)));
      CHECK((per_layer.remainder(r) == 0).all().item<bool>());
    }
  }
  CHECK_THROWS(adaptive::sample_heads(torch::randn({3, 16}), 13, 2, 5.0, nullptr));
}

TEST_CASE("exactly k layers at every budget level, and gradients reach the logits", "[adaptive]") {
  torch::manual_seed(3);
  auto noise = adaptive::gumbel_noise(at::detail::createCPUGenerator(5));
  for (int64_t k = 0; k <= 16; ++k) {
    auto logits = torch::randn({16}, torch::requires_grad());
    auto m = adaptive::sample_layers(logits, k, 5.0, &noise);
    CHECK(m.detach().sum().item<double>() == Approx(k).margin(1e-5));
    CHECK(((m.detach() - m.detach().round()).abs().max().item<double>()) < 1e-6);
    if (k == 0) continue;
    auto weights = torch::randn({16});
    (m * weights).sum().backward();
    INFO("k " << k);
    CHECK(logits.grad().abs().sum().item<double>() > 0.0);
  }
  auto logits = torch::randn({3, 8}, torch::requires_grad());
  auto m = adaptive::sample_heads(logits, 4, 2, 5.0, &noise);
  (m * torch::randn({3, 8})).sum().backward();
  CHECK(logits.grad().abs().sum().item<double>() > 0.0);
}
