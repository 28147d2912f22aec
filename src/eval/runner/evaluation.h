// `adallava eval --config ... --model ... --budgets ...`: every (model, benchmark, budget)
// answered (resuming from existing answer files), scored with the upstream-exact scorers and
// collected into results.md/.csv/.json and plot.svg under the output folder:
//
//   <out>/<model label>/<benchmark>/budget_<b>/answers.jsonl      (+ metrics.json, report.txt,
//                                                                   submission.json for VQAv2)
//   <out>/<model label>/<benchmark>/budget_<b>/answers.chunk-<k>-of-<n>.jsonl   (--num-chunks)
//   <out>/<model label>/<benchmark>/deadline_<t>ms/...           (--deadline-ms: same files)
//   <out>/results.{md,csv,json}, <out>/plot.svg
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "eval/runner/eval_config.h"
#include "eval/runner/results.h"

namespace adallava::eval {

struct ModelSpec {
  ModelSpec(std::string path_, std::string label_ = "", std::string static_plan_ = "",
            int keep_layers_ = 0, std::string latency_model_ = "")
      : path(std::move(path_)),
        label(std::move(label_)),
        static_plan(std::move(static_plan_)),
        keep_layers(keep_layers_),
        latency_model(std::move(latency_model_)) {}
  std::string path;
  std::string label;  // "" = LLaVA's model name of the path
  // AdaLLaVA static baseline instead of the learned scheduler: "first" or "random" ("" = none).
  std::string static_plan;
  // Depth ablation of a plain LLaVA: only its first keep_layers decoder layers run (0 = all).
  int keep_layers = 0;
  // Deadline mode: the `adallava calibrate` file for this checkpoint ("" = calibrate at
  // start-up). Checked against the checkpoint's config before any model loads.
  std::string latency_model;
};

struct EvaluationRequest {
  std::vector<EvalConfig> configs;
  std::vector<ModelSpec> models;
  std::string vision_tower;
  std::string dtype = "fp32";
  std::vector<double> budgets = {1.0};  // may be empty when deadlines are given
  // Deadline mode: one row per (model, benchmark, deadline), each question's budget chosen by
  // a DeadlineController (one per model and deadline, carried across benchmarks: its slowdown
  // describes the machine, not the benchmark). Questions run one at a time. Depth ablations
  // (keep_layers) are budget rows only.
  std::vector<double> deadlines_ms;
  std::string out_dir = "eval_results";
  std::optional<size_t> limit;
  std::optional<size_t> batch_size;  // overrides every config's batch_size
  int64_t num_chunks = 1, chunk_idx = 0;
  bool merge = false;            // combine the chunk files of a --num-chunks run, then score
  std::string x_axis = "flops";  // plot x axis: "flops" (prefill) or "latency"
};

// Checkpoints whose config.json names an AdaLLaVA scheduler accept budgets below 1.
bool is_adaptive_checkpoint(const std::string& model_dir);

std::string budget_dir_name(double budget);         // "budget_0.50"
std::string deadline_dir_name(double deadline_ms);  // "deadline_40ms", "deadline_12.5ms"
std::string chunk_file_name(int64_t chunk_idx, int64_t num_chunks);

// Runs everything; returns the result rows (also written to out_dir). Chunk runs write answers
// only (no scores, no results) until --merge.
std::vector<ResultRow> run_evaluation(const EvaluationRequest& request);

}  // namespace adallava::eval
