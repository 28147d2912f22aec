// adallava generate: answer a prompt about an image with a LLaVA-1.5 checkpoint.
#include <iostream>

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "adaptive/adallava.h"
#include "adaptive/deadline.h"
#include "adaptive/latency_model.h"
#include "command.h"
#include "common/error.h"
#include "model/compute_env.h"
#include "model/pipeline.h"

namespace adallava::cli {
namespace {

struct GenerateArgs {
  std::string model;
  std::string vision_tower;
  std::vector<std::string> images;
  std::vector<std::string> prompts;
  std::string conv_mode = "llava_v1";
  double temperature = 0.0;
  double top_p = 1.0;
  int max_new_tokens = 512;
  uint64_t seed = 0;
  std::string dtype = "fp32";
  std::string budget;         // empty = full model
  std::string deadline_ms;    // set: choose each request's budget to meet this wall-clock time
  std::string latency_model;  // calibration file for the deadline mode ("" = calibrate now)
  bool json = false;
};

int run_generate(const GenerateArgs& a, const GlobalOptions& global) {
  configure_compute(global.threads);
  if (a.prompts.empty()) fail("--prompt is required");
  if (!a.images.empty() && a.images.size() != 1 && a.images.size() != a.prompts.size())
    fail("give one --image for all prompts or one per --prompt ({} images, {} prompts)",
         a.images.size(), a.prompts.size());

  model::LoadOptions load;
  load.vision_tower_dir = a.vision_tower;
  load.dtype = model::parse_compute_dtype(a.dtype, "--dtype");
  std::optional<double> budget;
  if (!a.budget.empty()) budget = adaptive::parse_budget(a.budget, "--budget");
  std::optional<double> deadline_ms;
  if (!a.deadline_ms.empty()) {
    const auto deadlines = adaptive::parse_deadlines_ms(a.deadline_ms, "--deadline-ms");
    if (deadlines.size() != 1) fail("--deadline-ms: give one deadline (got {})", a.deadline_ms);
    deadline_ms = deadlines[0];
  }
  if (deadline_ms && budget) fail("--budget and --deadline-ms are exclusive");
  if (!a.latency_model.empty()) {
    if (!deadline_ms) fail("--latency-model is only used with --deadline-ms");
    // A profile of another model fails here, before the weights load.
    adaptive::load_latency_model_for_checkpoint(a.latency_model, a.model, a.dtype);
  }
  auto pipeline = adaptive::load_pipeline(a.model, load);

  std::vector<model::Question> questions;
  for (size_t i = 0; i < a.prompts.size(); ++i) {
    model::Question q;
    q.text = a.prompts[i];
    if (!a.images.empty()) q.image_path = a.images.size() == 1 ? a.images[0] : a.images[i];
    questions.push_back(q);
  }
  model::GenerationOptions opts;
  opts.max_new_tokens = a.max_new_tokens;
  opts.temperature = a.temperature;
  if (a.top_p < 1.0) opts.top_p = a.top_p;
  opts.seed = a.seed;
  opts.budget = budget;

  std::vector<model::Answer> answers;
  std::vector<std::optional<double>> answer_budgets(questions.size(), budget);
  if (deadline_ms) {
    // Deadline mode: one request at a time, each with the largest budget the latency model
    // (corrected online by the measured times) predicts to fit.
    auto& m = *pipeline.loaded.model;
    auto controller = adaptive::make_deadline_controller(
        m, adaptive::latency_model_for(m, a.latency_model, !a.images.empty()));
    for (const auto& q : questions) {
      const auto ids = pipeline.prompt_ids(pipeline.prompt_for(q, a.conv_mode));
      opts.budget =
          adaptive::choose_budget_for_prompt(controller, m, ids, *deadline_ms, a.max_new_tokens);
      // A plain LLaVA has no budget input: its only level, 1.0, is "run everything".
      if (!adaptive::scheduler_of(m)) opts.budget.reset();
      answer_budgets[answers.size()] = opts.budget;
      auto one = pipeline.answer({q}, a.conv_mode, opts);
      const auto& record = controller.observe(one[0].generation);
      spdlog::info(
          "[generate] deadline {:.0f} ms: budget {:.3f}, predicted {:.0f} ms, measured "
          "{:.0f} ms, {}",
          record.deadline_ms, record.budget, record.predicted_ms, record.measured_ms,
          record.met ? "met" : "MISSED");
      answers.push_back(std::move(one[0]));
    }
    spdlog::info("[generate] deadline met by {:.1f}% of {} requests (slowdown factor now {:.2f})",
                 100.0 * controller.share_met(), controller.records().size(),
                 controller.slowdown());
  } else {
    answers = pipeline.answer(questions, a.conv_mode, opts);
  }
  for (size_t i = 0; i < answers.size(); ++i) {
    const auto& ans = answers[i];
    const auto& g = ans.generation;
    const auto& budget = answer_budgets[i];
    const double tokens_per_s =
        g.tokens.empty() ? 0.0 : 1000.0 * g.tokens.size() / std::max(g.decode_ms, 1e-9);
    spdlog::info(
        "[generate] image {:.1f} ms | prefill {} positions {:.1f} ms | decode {} tokens {:.1f} ms "
        "({:.1f} tok/s)",
        g.image_ms, g.prompt_positions, g.prefill_ms, g.tokens.size(), g.decode_ms, tokens_per_s);
    spdlog::info(
        "[generate] budget {} | plan (active heads per layer, -1 = skipped) [{}] | "
        "analytic cost {:.4g} FLOPs prefill, {:.4g} total (LLM-Viewer)",
        budget ? fmt::format("{}", *budget) : std::string("full"), fmt::join(g.plan, ","),
        g.prefill_flops, g.flops);
    if (a.json) {
      nlohmann::json out = {
          {"text", ans.text},
          {"ids", g.tokens},
          {"stopped_by_eos", g.stopped_by_eos},
          {"prompt_positions", g.prompt_positions},
          {"budget", budget ? nlohmann::json(*budget) : nlohmann::json()},
          {"plan", g.plan},
          {"prefill_flops", g.prefill_flops},
          {"flops", g.flops},
          {"timing_ms",
           {{"image", g.image_ms}, {"prefill", g.prefill_ms}, {"decode", g.decode_ms}}}};
      std::cout << out.dump() << std::endl;
    } else {
      std::cout << ans.text << std::endl;
    }
  }
  return 0;
}

const RegisterCommand kRegister{
    "generate", "Answer a prompt about an image with a LLaVA-1.5 or AdaLLaVA checkpoint", 10,
    [](CLI::App& app, const GlobalOptions& global) -> std::function<int()> {
      auto args = std::make_shared<GenerateArgs>();
      app.add_option("-m,--model", args->model,
                     "Checkpoint directory (original or llava-hf layout)")
          ->required();
      app.add_option("--image", args->images,
                     "Image file(s): one for all prompts or one per prompt");
      app.add_option("-p,--prompt", args->prompts, "User message(s); several form one batch")
          ->required();
      app.add_option("--conv-mode", args->conv_mode,
                     "Conversation template: llava_v1, vicuna_v1, plain")
          ->capture_default_str();
      app.add_option("--temperature", args->temperature, "0 = greedy")
          ->capture_default_str()
          ->check(CLI::NonNegativeNumber);
      app.add_option("--top-p", args->top_p, "Nucleus sampling threshold")
          ->capture_default_str()
          ->check(CLI::Range(0.0, 1.0));
      app.add_option("--max-new-tokens", args->max_new_tokens)
          ->capture_default_str()
          ->check(CLI::NonNegativeNumber);
      app.add_option("--seed", args->seed, "Sampling seed")->capture_default_str();
      app.add_option("--vision-tower", args->vision_tower,
                     "Local directory of the vision tower (when mm_vision_tower is a hub id)");
      app.add_option("--dtype", args->dtype, "fp32 or bf16")->capture_default_str();
      app.add_option("--budget", args->budget,
                     "AdaLLaVA latency budget in [0, 1] (fraction of the LLM's units to run)");
      app.add_option("--deadline-ms", args->deadline_ms,
                     "Wall-clock deadline per request (image + prefill + max-new-tokens decode): "
                     "the budget is chosen from the latency model, corrected online");
      app.add_option("--latency-model", args->latency_model,
                     "Latency model from `adallava calibrate` (default: calibrate at start-up)");
      app.add_flag("--json", args->json, "Print one JSON object per answer (text, ids, timing)");
      return [args, &global] { return run_generate(*args, global); };
    }};

}  // namespace
}  // namespace adallava::cli
