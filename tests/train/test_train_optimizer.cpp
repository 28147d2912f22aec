// AdamW against torch.optim.AdamW, the lr schedules against HF's formulas, parameter grouping.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "model/llama.h"
#include "train/lr_schedule.h"
#include "train/optimizer.h"

using namespace adallava;
using namespace adallava::train;

namespace {

std::vector<float> values(const torch::Tensor& t) {
  auto c = t.contiguous().to(torch::kFloat32);
  return {c.data_ptr<float>(), c.data_ptr<float>() + c.numel()};
}

void check_close(const torch::Tensor& t, const std::vector<double>& expected, double tol) {
  auto v = values(t);
  REQUIRE(v.size() == expected.size());
  for (size_t i = 0; i < v.size(); ++i) CHECK(v[i] == Approx(expected[i]).margin(tol));
}

}  // namespace

TEST_CASE("AdamW matches torch.optim.AdamW step by step") {
  // Reference: /usr/bin/python3 with torch 1.13, groups {wd 0.1} and {wd 0}, lr 0.01 -> 0.005 ->
  // 0.0025, betas (0.9, 0.95), eps 1e-6; the numbers below are what torch printed (float32).
  // Tolerance 2e-7: float32 rounding of the same operation sequence.
  auto p = torch::tensor({0.5f, -1.25f, 2.0f, 0.0f});
  auto b = torch::tensor({0.1f, -0.2f});
  ParamGroup decay{"llm", 0.01, 0.1, {"w"}, {p}};
  ParamGroup no_decay{"llm/no_decay", 0.01, 0.0, {"b"}, {b}};
  AdamW opt({decay, no_decay}, AdamWOptions{0.9, 0.95, 1e-6});
  const std::vector<std::pair<std::vector<float>, std::vector<float>>> grads = {
      {{0.3f, -0.7f, 1.5f, 0.0f}, {0.05f, -2.0f}},
      {{-0.1f, 0.2f, 0.4f, 1e-3f}, {0.5f, 0.25f}},
      {{1.0f, 1.0f, -1.0f, -0.5f}, {-0.3f, 0.0f}}};
  const std::vector<double> factors = {1.0, 0.5, 0.25};
  const std::vector<std::vector<double>> expected_p = {
      {0.489500046, -1.23874998, 1.98800004, 0},
      {0.487233758, -1.23590803, 1.98276329, -0.00366967544},
      {0.485391855, -1.23638403, 1.98176539, -0.00211351318}};
  const std::vector<std::vector<double>> expected_b = {
      {0.0900001973, -0.190000013}, {0.0860135704, -0.187101796}, {0.0854967013, -0.185967147}};
  for (size_t k = 0; k < grads.size(); ++k) {
    p.mutable_grad() = torch::tensor(grads[k].first);
    b.mutable_grad() = torch::tensor(grads[k].second);
    opt.step(factors[k]);
    check_close(p, expected_p[k], 2e-7);
    check_close(b, expected_b[k], 2e-7);
  }
  auto state = opt.state();
  check_close(state.at("exp_avg.w"), {0.1153, 0.061300002, 0.0575000122, -0.0499100015}, 2e-8);
  check_close(state.at("exp_avg_sq.w"), {0.0545362495, 0.0740112513, 0.159131259, 0.0125000477},
              2e-8);
  CHECK(state.at("step.w").item<int64_t>() == 3);

  SECTION("state round trip continues identically") {
    auto p2 = p.clone();
    auto b2 = b.clone();
    AdamW restored({ParamGroup{"llm", 0.01, 0.1, {"w"}, {p2}},
                    ParamGroup{"llm/no_decay", 0.01, 0.0, {"b"}, {b2}}},
                   AdamWOptions{0.9, 0.95, 1e-6});
    restored.load_state(state, "test");
    p.mutable_grad() = torch::tensor({0.2f, -0.1f, 0.0f, 0.3f});
    b.mutable_grad() = torch::tensor({0.1f, 0.1f});
    p2.mutable_grad() = p.grad().clone();
    b2.mutable_grad() = b.grad().clone();
    opt.step(1.0);
    restored.step(1.0);
    CHECK(torch::equal(p, p2));
    CHECK(torch::equal(b, b2));
  }
}

TEST_CASE("AdamW skips parameters without a gradient, as torch does for grad None") {
  auto p = torch::ones({3});
  AdamW opt({ParamGroup{"llm", 0.1, 0.5, {"w"}, {p}}}, AdamWOptions{});
  opt.step(1.0);  // no grad: no decay either
  CHECK(torch::equal(p, torch::ones({3})));
  CHECK(opt.state().empty());
}

TEST_CASE("AdamW updates bf16 weights through float32 arithmetic") {
  auto p = torch::full({2}, 1.0, torch::kBFloat16);
  AdamW opt({ParamGroup{"llm", 0.01, 0.0, {"w"}, {p}}}, AdamWOptions{});
  p.mutable_grad() = torch::full({2}, 0.5, torch::kBFloat16);
  opt.step(1.0);
  CHECK(p.scalar_type() == torch::kBFloat16);
  // First Adam step moves by lr * sign(grad) (up to eps): 1 - 0.01 = 0.99, rounded to bf16.
  CHECK(p[0].item<float>() == Approx(0.99).margin(4e-3));
  CHECK(opt.state().at("exp_avg.w").scalar_type() == torch::kFloat32);
}

TEST_CASE("load_state rejects state of parameters this run does not train") {
  auto p = torch::ones({2});
  AdamW opt({ParamGroup{"llm", 0.1, 0.0, {"w"}, {p}}}, AdamWOptions{});
  io::StateDict foreign = {{"exp_avg.other", torch::zeros({2})},
                           {"exp_avg_sq.other", torch::zeros({2})},
                           {"step.other", torch::tensor(1)}};
  CHECK_THROWS_WITH(opt.load_state(foreign, "ckpt/optimizer.safetensors"),
                    Catch::Contains("ckpt/optimizer.safetensors") && Catch::Contains("other"));
}

TEST_CASE("lr schedules follow HF get_*_schedule_with_warmup") {
  // HF: warmup step/max(1,w); cosine 0.5(1+cos(pi p)); linear (T-s)/max(1,T-w).
  const int64_t warmup = 10, total = 110;
  CHECK(lr_factor(LrSchedule::Cosine, 0, warmup, total) == 0.0);
  CHECK(lr_factor(LrSchedule::Cosine, 5, warmup, total) == Approx(0.5).epsilon(1e-12));
  CHECK(lr_factor(LrSchedule::Cosine, 10, warmup, total) == Approx(1.0).epsilon(1e-12));
  CHECK(lr_factor(LrSchedule::Cosine, 60, warmup, total) == Approx(0.5).epsilon(1e-12));
  CHECK(lr_factor(LrSchedule::Cosine, 35, warmup, total) ==
        Approx(0.5 * (1 + std::cos(M_PI * 0.25))).epsilon(1e-12));
  CHECK(lr_factor(LrSchedule::Cosine, 110, warmup, total) == Approx(0.0).margin(1e-15));
  CHECK(lr_factor(LrSchedule::Linear, 60, warmup, total) == Approx(0.5).epsilon(1e-12));
  CHECK(lr_factor(LrSchedule::Linear, 5, warmup, total) == Approx(0.5).epsilon(1e-12));
  CHECK(lr_factor(LrSchedule::Constant, 3, warmup, total) == Approx(0.3).epsilon(1e-12));
  CHECK(lr_factor(LrSchedule::Constant, 100, warmup, total) == 1.0);
  // No warmup: the first update already runs at the peak.
  CHECK(lr_factor(LrSchedule::Cosine, 0, 0, 100) == 1.0);
  CHECK_THROWS_WITH(parse_lr_schedule("step"), Catch::Contains("step"));
}

TEST_CASE("parameter groups: no weight decay on biases and norm weights") {
  struct Net : torch::nn::Module {
    Net() {
      fc = register_module("fc", torch::nn::Linear(3, 4));
      ln = register_module("ln", torch::nn::LayerNorm(torch::nn::LayerNormOptions({4})));
      rms = register_module("rms", model::RmsNorm(4, 1e-5));
      head = register_module("mm_projector", torch::nn::Linear(4, 2));
      frozen = register_module("frozen", torch::nn::Linear(2, 2));
      frozen->weight.set_requires_grad(false);
      frozen->bias.set_requires_grad(false);
    }
    torch::nn::Linear fc{nullptr}, head{nullptr}, frozen{nullptr};
    torch::nn::LayerNorm ln{nullptr};
    model::RmsNorm rms{nullptr};
  } net;
  auto groups = make_param_groups(
      net,
      [](const std::string& n) { return n.rfind("mm_projector", 0) == 0 ? "projector" : "llm"; },
      [](const std::string& g) { return g == "projector" ? 1e-3 : 2e-5; }, 0.1);
  std::map<std::string, std::vector<std::string>> names;
  std::map<std::string, std::pair<double, double>> hyper;
  for (const auto& g : groups) {
    names[g.name] = g.param_names;
    hyper[g.name] = {g.lr, g.weight_decay};
  }
  CHECK(names["llm"] == std::vector<std::string>{"fc.weight"});
  CHECK(names["llm/no_decay"] ==
        std::vector<std::string>{"fc.bias", "ln.weight", "ln.bias", "rms.weight"});
  CHECK(names["projector"] == std::vector<std::string>{"mm_projector.weight"});
  CHECK(names["projector/no_decay"] == std::vector<std::string>{"mm_projector.bias"});
  CHECK(hyper["llm"] == std::make_pair(2e-5, 0.1));
  CHECK(hyper["llm/no_decay"] == std::make_pair(2e-5, 0.0));
  CHECK(hyper["projector"] == std::make_pair(1e-3, 0.1));
  CHECK(groups.size() == 4);  // frozen parameters are left out
}

TEST_CASE("gradient norm and scaling") {
  auto a = torch::zeros({2});
  auto b = torch::zeros({1});
  auto c = torch::zeros({1});  // no grad: counts as zero
  a.mutable_grad() = torch::tensor({3.0f, 0.0f});
  b.mutable_grad() = torch::tensor({4.0f});
  CHECK(global_grad_norm({a, b, c}) == Approx(5.0).epsilon(1e-12));
  scale_grads({a, b, c}, 0.5);
  CHECK(global_grad_norm({a, b, c}) == Approx(2.5).epsilon(1e-12));
}
