// adallava calibrate: time a checkpoint's parts on this machine and save the latency model
// that deadline mode (--deadline-ms) turns into budgets.
#include <chrono>
#include <iostream>

#include <spdlog/spdlog.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "adaptive/adallava.h"
#include "adaptive/latency_model.h"
#include "command.h"
#include "common/error.h"
#include "model/compute_env.h"
#include "model/loader.h"

namespace adallava::cli {
namespace {

struct CalibrateArgs {
  std::string model;
  std::string vision_tower;
  std::string dtype = "fp32";
  std::string out;
  std::vector<int64_t> lengths = {64, 256, 640};
  int repeats = 3;
  int steps = 4;
  bool skip_vision = false;
};

int run_calibrate(const CalibrateArgs& a, const GlobalOptions& global) {
  configure_compute(global.threads);
  model::LoadOptions load;
  load.vision_tower_dir = a.vision_tower;
  load.dtype = model::parse_compute_dtype(a.dtype, "--dtype");
  for (auto P : a.lengths)
    if (P < 1) fail("--lengths: prompt lengths must be >= 1, got {}", P);
  auto loaded = adaptive::load_adallava(a.model, load);
  auto& m = *loaded.model;
  m.eval();
  const auto spec = adaptive::unit_spec_from_config(m.config);
  const int64_t max_positions = m.config.text.max_position_embeddings;
  for (auto P : a.lengths)
    if (P + 2 > max_positions)
      fail("--lengths: {} exceeds the model's max_position_embeddings {}", P, max_positions);

  adaptive::CalibrationOptions o;
  o.prompt_lengths = a.lengths;
  o.repeats = a.repeats;
  o.decode_steps = a.steps;
  o.vision = !a.skip_vision;
  const auto t0 = std::chrono::steady_clock::now();
  auto latency = adaptive::calibrate(m, spec ? &*spec : nullptr, o);
  latency.source = a.out;
  adaptive::save_latency_model(latency, a.out);
  spdlog::info("[calibrate] {} ({}{}) profiled in {:.1f} s -> {}", a.model,
               spec ? std::string("AdaLLaVA-") + adaptive::variant_name(spec->variant)
                    : std::string("LLaVA"),
               ", " + a.dtype,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), a.out);
  // A summary a person can check: the full model and the prefix-only model at each length.
  const auto& t = m.config.text;
  std::vector<int> full(static_cast<size_t>(t.num_layers), t.num_heads);
  for (auto P : a.lengths) {
    std::string line = fmt::format("P={}: full prefill {:.1f} ms, decode {:.1f} ms/token", P,
                                   latency.prefill_ms(full, P), latency.decode_ms(full, P, 2));
    if (spec) {
      const auto prefix = latency.worst_case_plan(0, *spec);
      line += fmt::format(" | prefix only: prefill {:.1f} ms, decode {:.1f} ms/token",
                          latency.prefill_ms(prefix, P + 1), latency.decode_ms(prefix, P + 1, 2));
    }
    std::cout << line << "\n";
  }
  if (latency.image_ms > 0) std::cout << fmt::format("image: {:.1f} ms\n", latency.image_ms);
  return 0;
}

const RegisterCommand kRegister{
    "calibrate", "Profile a checkpoint's per-layer cost on this machine (for --deadline-ms)", 95,
    [](CLI::App& app, const GlobalOptions& global) -> std::function<int()> {
      auto args = std::make_shared<CalibrateArgs>();
      app.add_option("-m,--model", args->model, "Checkpoint directory (LLaVA or AdaLLaVA)")
          ->required();
      app.add_option("--vision-tower", args->vision_tower,
                     "Local directory of the vision tower (when mm_vision_tower is a hub id)");
      app.add_option("--dtype", args->dtype, "fp32 or bf16 (profiles are per dtype)")
          ->capture_default_str();
      app.add_option("-o,--out", args->out, "Latency model JSON to write")->required();
      app.add_option("--lengths", args->lengths, "Prompt lengths (LLM positions) to time")
          ->delimiter(',')
          ->capture_default_str();
      app.add_option("--repeats", args->repeats, "Runs per measurement (the minimum is kept)")
          ->capture_default_str()
          ->check(CLI::PositiveNumber);
      app.add_option("--steps", args->steps, "Decode steps timed per length")
          ->capture_default_str()
          ->check(CLI::PositiveNumber);
      app.add_flag("--skip-vision", args->skip_vision, "Do not time the vision tower");
      return [args, &global] { return run_calibrate(*args, global); };
    }};

}  // namespace
}  // namespace adallava::cli
