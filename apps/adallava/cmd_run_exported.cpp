// adallava run-exported: answer a prompt about an image with an exported model.pt, through the
// deployment runtime only (LibTorch + tokenizer + preprocessing; no checkpoint code).
#include <algorithm>
#include <iostream>

#include <fmt/format.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "command.h"
#include "common/error.h"
#include "runtime/pipeline.h"
// Only for --bench-eager: the comparison runs the eager model in the same process. The runtime
// library itself never links these (tests/runtime/test_runtime_link.cpp).
#include "adaptive/adallava.h"
#include "model/generation.h"

namespace adallava::cli {
namespace {

struct RunExportedArgs {
  std::string model;
  std::string image;
  std::string prompt;
  std::string conv_mode;
  double budget = 1.0;
  int max_new_tokens = 128;
  bool no_verify = false;
  bool json = false;
  std::string bench_eager;  // checkpoint directory: benchmark against the eager model
  int repeat = 5;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

// Exported runtime vs eager C++ on the same image, prompt, budget and token count (EOS ignored
// so both decode the same number of steps). Two warm-up runs each (TorchScript profiles the
// first calls), then medians of `repeat` runs.
int run_bench(const RunExportedArgs& a, runtime::ExportedPipeline& exported) {
  model::LoadOptions load;
  auto eager = adaptive::load_pipeline(a.bench_eager, load);
  model::Question q{a.prompt, a.image};
  const std::string conv = a.conv_mode.empty() ? "vicuna_v1" : a.conv_mode;
  auto ids = eager.prompt_ids(eager.prompt_for(q, conv));
  torch::Tensor pixels = a.image.empty() ? torch::Tensor() : eager.load_pixels(a.image);

  runtime::AnswerOptions ro;
  ro.budget = a.budget;
  ro.max_new_tokens = a.max_new_tokens;
  ro.stop_at_eos = false;
  model::GenerationOptions go;
  go.budget = a.budget;
  go.max_new_tokens = a.max_new_tokens;
  go.stop_at_eos = false;

  std::vector<double> ex_img, ex_pre, ex_dec, ea_img, ea_pre, ea_dec;
  std::vector<int64_t> ex_tokens, ea_tokens;
  for (int i = 0; i < a.repeat + 2; ++i) {
    auto ex = exported.answer_ids(ids, pixels, ro);
    auto ea = model::generate(eager.loaded.model, {{ids, pixels}}, go)[0];
    ex_tokens = ex.tokens;
    ea_tokens = ea.tokens;
    if (i < 2) continue;
    ex_img.push_back(ex.image_ms);
    ex_pre.push_back(ex.prefill_ms);
    ex_dec.push_back(ex.decode_ms / std::max<size_t>(1, ex.tokens.size() - 1));
    ea_img.push_back(ea.image_ms);
    ea_pre.push_back(ea.prefill_ms);
    ea_dec.push_back(ea.decode_ms / std::max<size_t>(1, ea.tokens.size() - 1));
  }
  nlohmann::json out = {{"budget", a.budget},
                        {"tokens", a.max_new_tokens},
                        {"same_tokens", ex_tokens == ea_tokens},
                        {"threads", torch::get_num_threads()},
                        {"exported_ms",
                         {{"image", median(ex_img)},
                          {"prefill", median(ex_pre)},
                          {"decode_per_token", median(ex_dec)}}},
                        {"eager_ms",
                         {{"image", median(ea_img)},
                          {"prefill", median(ea_pre)},
                          {"decode_per_token", median(ea_dec)}}}};
  std::cout << out.dump() << std::endl;
  return 0;
}

std::string plan_text(const std::vector<int64_t>& heads, int64_t num_heads) {
  std::string out;
  for (size_t i = 0; i < heads.size(); ++i) {
    if (i) out += " ";
    out += heads[i] < 0 ? std::string("-") : fmt::format("{}/{}", heads[i], num_heads);
  }
  return out;
}

int run(const RunExportedArgs& a, const GlobalOptions& global) {
  runtime::RuntimeOptions ro;
  ro.threads = global.threads;
  ro.artifact.verify_weights = !a.no_verify;
  auto pipeline = runtime::ExportedPipeline::load(a.model, ro);
  if (!a.bench_eager.empty()) return run_bench(a, pipeline);
  runtime::AnswerOptions opts;
  opts.budget = a.budget;
  opts.max_new_tokens = a.max_new_tokens;
  opts.conv_mode = a.conv_mode;
  auto ans = pipeline.answer(a.image, a.prompt, opts);

  const auto& cfg = pipeline.model.artifact().config;
  const int64_t num_heads = cfg.value("num_attention_heads", int64_t{0});
  const double tok_per_s =
      ans.tokens.size() > 1 ? 1000.0 * (ans.tokens.size() - 1) / std::max(ans.decode_ms, 1e-9) : 0;
  if (a.json) {
    nlohmann::json out = {
        {"text", ans.text},
        {"ids", ans.tokens},
        {"stopped_by_eos", ans.stopped_by_eos},
        {"budget", a.budget},
        {"units", ans.units},
        {"plan", ans.plan_heads},
        {"prompt_positions", ans.prompt_positions},
        {"timing_ms",
         {{"image", ans.image_ms}, {"prefill", ans.prefill_ms}, {"decode", ans.decode_ms}}}};
    std::cout << out.dump() << std::endl;
    return 0;
  }
  std::cout << ans.text << "\n";
  std::cout << fmt::format("plan: budget {} -> k = {} | active heads per layer: {}\n", a.budget,
                           ans.units, plan_text(ans.plan_heads, num_heads));
  std::cout << fmt::format(
                   "timing: image {:.1f} ms | prefill {} positions {:.1f} ms | decode {} tokens "
                   "{:.1f} ms ({:.1f} tok/s)",
                   ans.image_ms, ans.prompt_positions, ans.prefill_ms, ans.tokens.size(),
                   ans.decode_ms, tok_per_s)
            << std::endl;
  return 0;
}

const RegisterCommand kRegister{
    "run-exported", "Answer a prompt with an exported model.pt (deployment runtime)", 61,
    [](CLI::App& app, const GlobalOptions& global) -> std::function<int()> {
      auto args = std::make_shared<RunExportedArgs>();
      app.add_option("-m,--model", args->model, "Exported model file (adallava export)")
          ->required();
      app.add_option("--image", args->image, "Image file (omit for a text-only prompt)");
      app.add_option("-p,--prompt", args->prompt, "User message")->required();
      app.add_option("--budget", args->budget, "Latency budget in [0, 1] (1.0 for plain LLaVA)")
          ->capture_default_str();
      app.add_option("--max-new-tokens", args->max_new_tokens)
          ->capture_default_str()
          ->check(CLI::NonNegativeNumber);
      app.add_option("--conv-mode", args->conv_mode,
                     "Conversation template (default: the artifact's, vicuna_v1)");
      app.add_flag("--no-verify", args->no_verify,
                   "Skip re-hashing the weights against their export digests");
      app.add_flag("--json", args->json, "Print one JSON object (text, ids, plan, timing)");
      app.add_option("--bench-eager", args->bench_eager,
                     "Benchmark against the eager model of this checkpoint (same inputs); "
                     "prints median timings as JSON");
      app.add_option("--repeat", args->repeat, "Timed runs for --bench-eager")
          ->capture_default_str()
          ->check(CLI::PositiveNumber);
      return [args, &global] { return run(*args, global); };
    }};

}  // namespace
}  // namespace adallava::cli
