// Plain LLaVA-1.5 checkpoints exported: against the upstream reference (golden/llava-tiny/ref)
// and against the eager C++ model (model::load_llava + model::generate) on the same inputs.
// Tolerances: float32 logits <= 1e-5 against eager C++ (same operations in the same order;
// measured values are printed) and <= 1e-4 against upstream (the repo's float32 bound);
// greedy tokens identical. bf16: tokens identical to eager bf16, logits <= 0.25.
#include <catch2/catch.hpp>

#include "export_fixture.h"
#include "model/generation.h"
#include "model/loader.h"

using namespace adallava;
using namespace adallava::test;

namespace {

const std::string kRef = "llava-tiny/ref";

struct Eager {
  torch::Tensor logits;  // [T, V]
  std::vector<int64_t> tokens;
};

Eager run_eager(const std::string& checkpoint, c10::ScalarType dtype, int n) {
  model::LoadOptions opts;
  opts.dtype = dtype;
  auto loaded = model::load_llava(golden(checkpoint), opts);
  auto& m = loaded.model;
  torch::NoGradGuard no_grad;
  auto ids = ids_of(ref(kRef, "input_ids"));
  auto pixels = ref(kRef, "input_pixel_values");
  auto feats = m->encode_images(pixels);
  auto in = m->prepare_inputs({{ids, {}}}, {feats[0]}, model::PaddingSide::Left);
  auto hidden = m->decode(in.embeds, in.attention_mask, in.position_ids, nullptr);
  Eager e;
  e.logits = m->logits(hidden)[0];
  model::GenerationOptions g;
  g.max_new_tokens = n;
  g.stop_at_eos = false;
  e.tokens = model::generate(m, {{ids, pixels[0]}}, g)[0].tokens;
  return e;
}

}  // namespace

TEST_CASE("plain LLaVA export matches upstream and the eager C++ model (float32)",
          "[export][golden]") {
  torch::NoGradGuard no_grad;
  auto ids = ref(kRef, "input_ids");
  auto pixels = ref(kRef, "input_pixel_values");
  auto expected_tokens = ids_of(ref(kRef, "generated_ids"));
  auto eager = run_eager("llava-tiny/llava15_orig", torch::kFloat32, 8);
  REQUIRE(eager.tokens == expected_tokens);

  for (const char* layout : {"llava-tiny/llava15_orig", "llava-tiny/llava15_orig_sharded"}) {
    auto m = export_in_memory(layout);
    auto features = m.run_method("encode_image", pixels).toTensor();
    const double d_proj = max_abs_diff(features[0], ref(kRef, "projector_output"));
    auto p = run_prefill(m, ids, features, 1.0, 8);
    REQUIRE(p.logits.size(0) == 109);
    CHECK(torch::equal(p.plan, torch::ones({4, 2, 4})));
    const double d_upstream = max_abs_diff(p.logits, ref(kRef, "logits"));
    const double d_eager = max_abs_diff(p.logits, eager.logits);
    std::vector<torch::Tensor> steps;
    auto tokens = greedy_steps(m, p, 8, &steps);
    auto generated = m.run_method("generate", ids, pixels, 1.0, 8, false).toTensor();
    INFO(layout << ": projector " << d_proj << " | logits vs upstream " << d_upstream
                << " | vs eager " << d_eager);
    CHECK(d_proj <= 1e-5);
    CHECK(d_upstream <= 1e-4);
    CHECK(d_eager <= 1e-5);
    CHECK(tokens == expected_tokens);
    CHECK(ids_of(generated) == expected_tokens);
    auto heads = m.run_method("plan_heads", p.plan).toIntVector();
    CHECK(heads == std::vector<int64_t>{4, 4, 4, 4});
  }
}

TEST_CASE("a plain LLaVA export runs at budget 1.0 only", "[export]") {
  auto m = export_in_memory("llava-tiny/llava15_orig");
  CHECK(m.run_method("budget_to_units", 1.0).toInt() == 0);
  for (double b : {0.75, 0.5, 0.0}) {
    try {
      m.run_method("budget_to_units", b);
      FAIL("no error at budget " << b);
    } catch (const std::exception& e) {
      CHECK_THAT(e.what(), Catch::Contains("only budget 1.0 is supported"));
    }
  }
}

TEST_CASE("bf16 export matches the eager C++ model in bf16", "[export]") {
  torch::NoGradGuard no_grad;
  auto eager = run_eager("llava-tiny/llava15_orig", torch::kBFloat16, 8);
  auto m = export_in_memory("llava-tiny/llava15_orig", torch::kBFloat16);
  auto ids = ref(kRef, "input_ids");
  auto pixels = ref(kRef, "input_pixel_values");
  auto features = m.run_method("encode_image", pixels).toTensor();
  CHECK(features.scalar_type() == torch::kBFloat16);
  auto p = run_prefill(m, ids, features, 1.0, 8);
  const double d = max_abs_diff(p.logits, eager.logits);
  INFO("bf16 logits vs eager bf16: " << d);
  // Not bit-identical in bf16: the artifact's Linear layers with bias are aten::linear (bias fused
  // into addmm, as PyTorch's F.linear), the C++ frontend's F::linear does matmul then += bias;
  // one bf16 rounding apart (measured 0.082 on logits of magnitude ~5, bf16 ulp there 0.03).
  CHECK(d <= 0.25);
  auto tokens = greedy_steps(m, p, 8, nullptr);
  CHECK(tokens == eager.tokens);
}
