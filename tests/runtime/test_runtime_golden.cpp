// The deployment runtime (ExportedModel / ExportedPipeline on model.pt files written by the CLI)
// against the official AdaLLaVA outputs and upstream LLaVA-1.5, in float32, at budgets 1.0, 0.75
// and 0.5. Tolerances: prefill logits max |diff| <= 1e-5 (measured ~3.6e-6); plans, k and greedy
// tokens exact.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "runtime/pipeline.h"
#include "runtime_fixture.h"

using namespace adallava;
using namespace adallava::test;

namespace {

void check_variant(const std::string& checkpoint, const std::string& name,
                   const std::string& infer) {
  auto pipeline = runtime::ExportedPipeline::load(export_artifact(checkpoint, name));
  const std::string ref = infer + "/reference.safetensors";
  const auto man = read_json_file(golden(infer + "/manifest.json"))["budgets"];
  auto ids = golden_ids(ref, "input_ids");
  auto pixels = golden_tensor(ref, "input_pixel_values");
  for (const char* key : {"b1.00", "b0.75", "b0.50"}) {
    const auto& b = man[key];
    const double budget = b["budget"].get<double>();
    torch::NoGradGuard no_grad;
    auto features = pipeline.model.encode_image(pixels);
    auto p = pipeline.model.prefill(ids, features, budget, 8, /*all_logits=*/true);
    const double d = max_abs_diff(p.logits, golden_tensor(ref, std::string(key) + "_logits"));

    runtime::AnswerOptions opts;
    opts.budget = budget;
    opts.max_new_tokens = 8;
    opts.stop_at_eos = false;
    auto ans = pipeline.answer_ids(ids, pixels, opts);
    INFO(name << " " << key << ": logits max diff " << d);
    CHECK(d <= 1e-5);
    CHECK(ans.units == b["k"].get<int64_t>());
    CHECK(ans.tokens == b["generated_ids_no_eos"].get<std::vector<int64_t>>());
    std::vector<int64_t> official;
    for (const auto& v : b["official_execution_plan"])
      official.push_back(static_cast<int64_t>(v.get<double>()));
    CHECK(ans.plan_heads == official);
    CHECK(ans.prompt_positions == b["prefill_length"].get<int64_t>());
  }
}

}  // namespace

TEST_CASE("runtime: AdaLLaVA-L artifact reproduces the official outputs", "[runtime][golden]") {
  check_variant("adallava/ada_L", "ada_L", "adallava/infer_L");
}

TEST_CASE("runtime: AdaLLaVA-H artifact reproduces the official outputs", "[runtime][golden]") {
  check_variant("adallava/ada_H", "ada_H", "adallava/infer_H");
}

TEST_CASE("runtime: plain LLaVA artifact reproduces upstream at budget 1.0", "[runtime][golden]") {
  auto pipeline =
      runtime::ExportedPipeline::load(export_artifact("llava-tiny/llava15_orig", "plain"));
  const std::string ref = "llava-tiny/ref/reference.safetensors";
  auto ids = golden_ids(ref, "input_ids");
  auto pixels = golden_tensor(ref, "input_pixel_values");
  torch::NoGradGuard no_grad;
  auto p = pipeline.model.prefill(ids, pipeline.model.encode_image(pixels), 1.0, 0, true);
  const double d = max_abs_diff(p.logits, golden_tensor(ref, "logits"));
  INFO("logits max diff " << d);
  CHECK(d <= 1e-5);
  runtime::AnswerOptions opts;
  opts.max_new_tokens = 8;
  opts.stop_at_eos = false;
  auto ans = pipeline.answer_ids(ids, pixels, opts);
  CHECK(ans.tokens == golden_ids(ref, "generated_ids"));
  CHECK(ans.plan_heads == std::vector<int64_t>{4, 4, 4, 4});
  CHECK(ans.units == 0);
  // The embedded tokenizer is the checkpoint's: it reproduces the reference prompt ids.
  const auto man = read_json_file(golden("llava-tiny/ref/manifest.json"));
  CHECK(pipeline.tokenizer.encode_with_image(man["prompt"].get<std::string>()) == ids);
}
