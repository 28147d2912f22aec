// AdaLLaVA modes of `adallava bench`, on a randomly initialised LLM with LLaVA-7B layer
// dimensions and few layers:
//  * savings:  prefill and decode time against the latency budget, set against the share of
//              units the plan executes (the bound: time <= full * fraction * 1.10);
//  * deadline: requests under a wall-clock deadline served by the DeadlineController, with a
//              CPU-heavy program started halfway, with and without the online correction.
#pragma once

#include <string>
#include <vector>

#include <c10/core/ScalarType.h>
#include <nlohmann/json_fwd.hpp>

#include "adaptive/budget.h"
#include "model/llava.h"

namespace adallava::cli::bench {

struct AdaptiveModelArgs {
  int llm_layers = 8;
  int prefix_layers = 4;
  int scheduler_rank = 8;
  int prompt_tokens = 640;
  int decode_tokens = 8;
};

// The 7B-dimension LLM with `args.llm_layers` layers, a tiny (unused) vision tower and a
// randomly initialised scheduler of `variant`, in `dtype`, eval mode.
model::LlavaForCausalLM build_adaptive_model(const AdaptiveModelArgs& args,
                                             adaptive::Variant variant, c10::ScalarType dtype);
adaptive::UnitSpec adaptive_spec(const AdaptiveModelArgs& args, adaptive::Variant variant);

struct SavingsRow {
  std::string dtype, variant;
  double budget = 0;
  int64_t k = 0;
  double executed_fraction = 0;  // active heads over all layers / (L * H): units executed
  std::vector<int> plan;         // active heads per layer of the last run
  double prefill_ms = 0, prefill_min_ms = 0;  // median, min
  double decode_ms_per_token = 0, decode_min_ms_per_token = 0;
  double prefill_ratio = 0, decode_ratio = 0;  // median / median at budget 1
  double bound = 0;                            // executed_fraction * 1.10
};

// One variant in one dtype over `budgets` (1.0 is added when missing: it is the reference).
// Budgets are interleaved within every repeat so that load drifts hit them alike.
std::vector<SavingsRow> measure_savings(const AdaptiveModelArgs& args, adaptive::Variant variant,
                                        c10::ScalarType dtype, std::vector<double> budgets,
                                        int repeats);
std::string savings_markdown(const std::vector<SavingsRow>& rows);
nlohmann::json savings_json(const std::vector<SavingsRow>& rows);

struct DeadlineBenchArgs {
  AdaptiveModelArgs model;
  adaptive::Variant variant = adaptive::Variant::L;
  c10::ScalarType dtype = c10::ScalarType::BFloat16;
  int requests = 40;
  double deadline_ms = 0;         // 0: derived from idle runs at reference_budget
  double reference_budget = 0.8;  // the idle machine meets the deadline at this budget
  double margin = 0.1;            // derived deadline = idle median at reference_budget * (1+m)
  int reference_runs = 3;
  double headroom = 0.05;
  std::string latency_file;    // load instead of calibrating at start-up
  std::string latency_out;     // save the start-up calibration here
  std::string contention_cmd;  // started (sh -c) at request requests/2, killed at the end
  std::vector<std::string> modes = {"corrected", "fixed"};
};

// Runs the experiment, prints per-request lines and the summary; returns the summary JSON.
nlohmann::json run_deadline_experiment(const DeadlineBenchArgs& args, std::string& markdown);

}  // namespace adallava::cli::bench
