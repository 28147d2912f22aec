// `adallava eval`: benchmark evaluation.
//   adallava eval --config configs/eval/<b>.yaml --model <ckpt> --budgets 0.5,...,1.0 [...]
//   adallava eval --config ... --model <ckpt> --deadline-ms 40,80 [--latency-model lat.json]
// answers, scores and tabulates (src/eval/runner/evaluation.h); the actions in eval_actions()
// work on existing files: `score` (upstream-exact metrics of one answers file), `merge`
// (concatenate chunk answer files in question order) and `plot` (combine results.json files
// into one table and figure).
#include <algorithm>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "adaptive/adallava.h"
#include "adaptive/budget.h"
#include "adaptive/deadline.h"
#include "command.h"
#include "common/error.h"
#include "common/files.h"
#include "common/py_text.h"
#include "config/value.h"
#include "eval/runner/answer_file.h"
#include "eval/runner/eval_config.h"
#include "eval/runner/evaluation.h"
#include "eval/runner/results.h"
#include "eval/scorers/benchmarks.h"
#include "eval/scorers/records.h"
#include "model/compute_env.h"
#include "model/loader.h"

namespace adallava::cli {
namespace {

// One nested sub-command: adds its options to `app` and returns the function that runs it.
struct EvalAction {
  std::string name;
  std::string description;
  std::function<std::function<int()>(CLI::App& app, const GlobalOptions& global)> setup;
};

struct ScoreOptions {
  scorers::ScoreRequest request;
  std::string out;
  std::string submission;
};

void write_output(const std::string& path, const std::string& contents) {
  const auto parent = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) fail("{}: cannot create folder {}: {}", path, parent.string(), ec.message());
  write_text_file_atomic(path, contents);
}

std::function<int()> setup_score(CLI::App& app, const GlobalOptions&) {
  auto options = std::make_shared<ScoreOptions>();
  auto& r = options->request;
  app.add_option("--benchmark", r.benchmark,
                 fmt::format("Benchmark: {}", fmt::join(scorers::known_benchmarks(), ", ")))
      ->required();
  app.add_option("--answers", r.answers,
                 "Answers .jsonl in LLaVA's format (MME: or a converted eval_tool answers folder)")
      ->required();
  app.add_option("--annotations", r.annotations,
                 "Benchmark annotations, file or folder: vqav2 llava_vqav2_mscoco_test2015.jsonl; "
                 "textvqa TextVQA_0.5.1_val.json; gqa testdev_balanced_questions.json; scienceqa "
                 "folder with problems.json + pid_splits.json; pope folder with coco_pope_*.json; "
                 "mme MME_Benchmark_release_version (or its parent); mmbench the .tsv");
  app.add_option("--questions", r.questions,
                 "POPE: llava_pope_test.jsonl (default: beside the label files)");
  app.add_option("--out", options->out, "Write the metrics as JSON to this file");
  app.add_option("--submission", options->submission,
                 "VQAv2: write the EvalAI upload JSON (answers_upload) to this file");
  app.add_flag("--items", r.with_items,
               "Include per-question details (TextVQA scores, ScienceQA parsed letters)");
  return [options]() {
    const auto result = scorers::score_benchmark(options->request);
    std::cout << result.report;
    const std::string metrics_text = result.metrics.dump(2) + "\n";
    std::cout << metrics_text;
    if (!options->out.empty()) {
      write_output(options->out, metrics_text);
      spdlog::info("[eval] wrote metrics to {}", options->out);
    }
    if (!options->submission.empty()) {
      if (result.submission.empty()) {
        fail("--submission: {} has no upload file (only vqav2 does)", options->request.benchmark);
      }
      write_output(options->submission, result.submission);
      spdlog::info("[eval] wrote the upload file to {}", options->submission);
    }
    return 0;
  };
}

// LLaVA's scripts `cat` chunk files; ours also restores question order (by question_index)
// and refuses duplicates, so the result equals an unchunked run's file.
struct MergeOptions {
  std::vector<std::string> inputs;
  std::string output;
};

std::function<int()> setup_merge(CLI::App& app, const GlobalOptions&) {
  auto options = std::make_shared<MergeOptions>();
  app.add_option("inputs", options->inputs, "Chunk answer files, in chunk order")->required();
  app.add_option("-o,--output", options->output, "Merged answers .jsonl")->required();
  return [options]() {
    std::vector<std::pair<size_t, std::string>> lines;
    std::map<size_t, std::string> seen;
    for (const auto& path : options->inputs) {
      if (!file_exists(path)) fail("{}: answers file not found", path);
      const auto file_lines = py::split(read_text_file(path), "\n");
      size_t line_no = 0;
      for (const auto& raw : file_lines) {
        ++line_no;
        const std::string where = scorers::where(path, line_no);
        if (raw.empty()) {
          if (line_no == file_lines.size()) break;  // after the final newline
          fail("{}: empty line", where);
        }
        nlohmann::ordered_json v;
        try {
          v = nlohmann::ordered_json::parse(raw);
        } catch (const nlohmann::json::exception&) {
          fail("{}: malformed answer line (not JSON)", where);
        }
        if (!v.is_object() || !v.contains("question_index") ||
            !v["question_index"].is_number_unsigned())
          fail("{}: no \"question_index\" (not written by `adallava eval`)", where);
        const size_t index = v["question_index"].get<size_t>();
        if (seen.count(index))
          fail("{}: question {} is already answered in {}", where, index, seen[index]);
        seen[index] = where;
        lines.emplace_back(index, raw);
      }
    }
    std::sort(lines.begin(), lines.end());
    std::string text;
    for (const auto& [index, line] : lines) text += line + "\n";
    write_output(options->output, text);
    spdlog::info("[eval] merged {} answers from {} files into {}", lines.size(),
                 options->inputs.size(), options->output);
    return 0;
  };
}

struct PlotOptions {
  std::vector<std::string> results;
  std::string out;
  std::string x_axis = "flops";
  bool pool = false;
};

std::function<int()> setup_plot(CLI::App& app, const GlobalOptions&) {
  auto options = std::make_shared<PlotOptions>();
  app.add_option("--results", options->results, "results.json files of earlier evaluations")
      ->required();
  app.add_option("--out", options->out, "Folder for the combined results and plot.svg")->required();
  app.add_option("--x-axis", options->x_axis, "flops or latency")
      ->check(CLI::IsMember({"flops", "latency"}))
      ->capture_default_str();
  app.add_flag("--pool", options->pool,
               "Merge rows of the same model, benchmark and budget into one over all the files' "
               "questions: for evaluations of disjoint question sets (e.g. synthetic suites of "
               "different --seed), so that learned-versus-static comparisons pool their questions");
  return [options]() {
    std::vector<eval::ResultRow> rows;
    for (size_t i = 0; i < options->results.size(); ++i) {
      const auto& path = options->results[i];
      auto part = eval::rows_from_json(read_json_file(path), path);
      // Question ids of different evaluations may coincide; only rows of one file pair.
      eval::tag_item_ids(part, std::to_string(i));
      rows.insert(rows.end(), part.begin(), part.end());
    }
    if (options->pool) rows = eval::pool_rows(rows);
    eval::write_results(options->out, rows, options->x_axis);
    spdlog::info("[eval] wrote {}/results.md and plot.svg ({} rows)", options->out, rows.size());
    return 0;
  };
}

const std::vector<EvalAction>& eval_actions() {
  static const std::vector<EvalAction> actions = {
      {"score", "Score an answers file with the benchmark's upstream metric code", setup_score},
      {"merge", "Merge chunk answer files (--num-chunks runs) in question order", setup_merge},
      {"plot", "Combine results.json files into one table and accuracy-cost plot", setup_plot},
  };
  return actions;
}

struct RunArgs {
  std::vector<std::string> configs;
  std::vector<std::string> models;
  std::vector<std::string> baselines;
  std::vector<std::string> labels;
  std::vector<int> keep_layers;
  std::string vision_tower;
  std::optional<std::string> budgets;  // default: 1.0, or none when deadlines are given
  std::string deadlines_ms;
  std::vector<std::string> latency_models;
  std::string out = "eval_results";
  std::string data_root;
  std::vector<std::string> overrides;
  std::optional<size_t> limit;
  std::optional<size_t> batch_size;
  int64_t num_chunks = 1, chunk_idx = 0;
  bool merge = false;
  std::string dtype = "fp32";
  std::string x_axis = "flops";
};

void add_run_options(CLI::App& app, RunArgs& a) {
  app.add_option("--config", a.configs,
                 "Benchmark or suite config (configs/eval/*.yaml); repeat for several");
  app.add_option("-m,--model", a.models, "Checkpoint directory; repeat to compare models");
  app.add_option("--baselines", a.baselines,
                 "Also evaluate AdaLLaVA models with static plans of the same unit count: "
                 "first (the lowest switchable units), random (a fixed random order)")
      ->delimiter(',');
  app.add_option("--keep-layers", a.keep_layers,
                 "Depth ablation: also evaluate every plain LLaVA model with only its first N "
                 "decoder layers (the rest removed); repeat or comma-separate for several N")
      ->delimiter(',')
      ->check(CLI::PositiveNumber);
  app.add_option("--label", a.labels,
                 "Name of each --model in tables and plots (default: "
                 "LLaVA's model name of the path)");
  app.add_option("--vision-tower", a.vision_tower,
                 "Local directory of the vision tower (when mm_vision_tower is a hub id)");
  app.add_option("--budgets", a.budgets,
                 "Comma-separated latency budgets in [0, 1] (default: 1.0 without --deadline-ms; "
                 "with it, budget rows only when given)");
  app.add_option("--deadline-ms", a.deadlines_ms,
                 "Deadline mode: comma-separated wall-clock deadlines per question (vision tower "
                 "+ prefill + max_new_tokens decode); each question runs with the largest budget "
                 "the latency model predicts to fit, corrected online, one question at a time");
  app.add_option("--latency-model", a.latency_models,
                 "Latency model from `adallava calibrate` for --deadline-ms: one for all models "
                 "or one per --model (default: calibrate each model at start-up)");
  app.add_option("--out", a.out, "Output folder")->capture_default_str();
  app.add_option("--data-root", a.data_root,
                 "Folder holding the benchmark folders (overrides data_root of the configs)");
  app.add_option("--set", a.overrides, "Config override key=value (e.g. max_new_tokens=16)");
  app.add_option("--limit", a.limit, "Only the first N questions of each benchmark")
      ->check(CLI::PositiveNumber);
  app.add_option("--batch-size", a.batch_size, "Questions per batch (overrides the configs)")
      ->check(CLI::PositiveNumber);
  app.add_option("--num-chunks", a.num_chunks,
                 "Split the questions into N chunks (LLaVA's "
                 "get_chunk); answers only, then --merge")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--chunk-idx", a.chunk_idx, "Which chunk this process answers")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_flag("--merge", a.merge,
               "Merge the chunk files of a --num-chunks run (same arguments), then score");
  app.add_option("--dtype", a.dtype, "fp32 or bf16")->capture_default_str();
  app.add_option("--x-axis", a.x_axis, "Plot x axis: flops (prefill) or latency")
      ->check(CLI::IsMember({"flops", "latency"}))
      ->capture_default_str();
}

int run_evaluation_command(const RunArgs& a, const GlobalOptions& global) {
  if (a.configs.empty()) fail("eval: --config is required (or use an action: score, merge, plot)");
  if (a.models.empty()) fail("eval: --model is required");
  if (!a.labels.empty() && a.labels.size() != a.models.size())
    fail("eval: give one --label per --model ({} labels, {} models)", a.labels.size(),
         a.models.size());
  if (a.chunk_idx >= a.num_chunks)
    fail("--chunk-idx {} must be below --num-chunks {}", a.chunk_idx, a.num_chunks);
  eval::EvaluationRequest r;
  // Settings first: a typo must not cost a model load.
  if (!a.deadlines_ms.empty())
    r.deadlines_ms = adaptive::parse_deadlines_ms(a.deadlines_ms, "--deadline-ms");
  r.budgets.clear();
  if (a.budgets || r.deadlines_ms.empty())
    for (const auto& piece : py::split(a.budgets.value_or("1.0"), ","))
      r.budgets.push_back(adaptive::parse_budget(py::strip(piece), "--budgets"));
  if (!a.latency_models.empty()) {
    if (r.deadlines_ms.empty()) fail("--latency-model is only used with --deadline-ms");
    if (a.latency_models.size() != 1 && a.latency_models.size() != a.models.size())
      fail("eval: give one --latency-model for all models or one per --model ({} files, {} models)",
           a.latency_models.size(), a.models.size());
  }
  if (!a.keep_layers.empty() && r.budgets.empty())
    fail(
        "--keep-layers rows are evaluated at --budgets only (a depth ablation is not the model "
        "the latency profile describes); give --budgets too");
  auto latency_model_of = [&](size_t i) {
    if (a.latency_models.empty()) return std::string();
    return a.latency_models.size() == 1 ? a.latency_models[0] : a.latency_models[i];
  };
  configure_compute(global.threads);
  std::vector<std::string> overrides = a.overrides;
  if (!a.data_root.empty())
    overrides.push_back("data_root=" + config::format_yaml_string(a.data_root));
  for (const auto& path : a.configs) {
    auto configs = eval::load_eval_configs(path, overrides);
    r.configs.insert(r.configs.end(), configs.begin(), configs.end());
  }
  // Each checkpoint's kind and table label, read once for the comparison rows below.
  std::vector<bool> adaptive_model;
  std::vector<std::string> base_label;
  for (size_t i = 0; i < a.models.size(); ++i) {
    r.models.push_back(
        {a.models[i], a.labels.empty() ? "" : a.labels[i], "", 0, latency_model_of(i)});
    adaptive_model.push_back(eval::is_adaptive_checkpoint(a.models[i]));
    base_label.push_back(a.labels.empty() ? eval::model_name_from_path(a.models[i]) : a.labels[i]);
  }
  // Static baselines with the learned plans' unit counts, for every AdaLLaVA model given.
  for (const auto& policy : a.baselines) {
    adaptive::parse_static_policy(policy);  // rejects unknown names before any work
    for (size_t i = 0; i < a.models.size(); ++i)
      if (adaptive_model[i])
        r.models.push_back({a.models[i],
                            base_label[i] + (policy == "first" ? " first-k" : " random plan"),
                            policy, 0, latency_model_of(i)});
  }
  // Depth ablations of every plain LLaVA model, checked against its layer count up front.
  if (!a.keep_layers.empty() &&
      std::find(adaptive_model.begin(), adaptive_model.end(), false) == adaptive_model.end())
    fail("--keep-layers applies to plain LLaVA checkpoints; every --model given is AdaLLaVA");
  for (int keep : a.keep_layers)
    for (size_t i = 0; i < a.models.size(); ++i) {
      if (adaptive_model[i]) continue;
      const int layers = model::load_llava_config(a.models[i]).text.num_layers;
      if (keep > layers)
        fail("--keep-layers {}: {} has only {} decoder layers", keep, a.models[i], layers);
      r.models.push_back(
          {a.models[i], fmt::format("{}, first {} layers", base_label[i], keep), "", keep});
    }
  r.vision_tower = a.vision_tower;
  r.dtype = a.dtype;
  r.out_dir = a.out;
  r.limit = a.limit;
  r.batch_size = a.batch_size;
  r.num_chunks = a.num_chunks;
  r.chunk_idx = a.chunk_idx;
  r.merge = a.merge;
  r.x_axis = a.x_axis;
  const auto rows = eval::run_evaluation(r);
  if (r.num_chunks > 1 && !r.merge) {
    spdlog::info("[eval] chunk {} of {} answered; run again with --merge to combine and score",
                 r.chunk_idx, r.num_chunks);
    return 0;
  }
  std::cout << eval::results_markdown(rows);
  spdlog::info("[eval] results: {}/results.md, results.csv, results.json; plot: {}/plot.svg",
               r.out_dir, r.out_dir);
  return 0;
}

RegisterCommand register_eval("eval", "Evaluate on VQA benchmarks across latency budgets", 40,
                              [](CLI::App& app,
                                 const GlobalOptions& global) -> std::function<int()> {
                                app.require_subcommand(0, 1);
                                auto args = std::make_shared<RunArgs>();
                                add_run_options(app, *args);
                                auto runners =
                                    std::make_shared<std::map<CLI::App*, std::function<int()>>>();
                                for (const auto& action : eval_actions()) {
                                  CLI::App* sub =
                                      app.add_subcommand(action.name, action.description);
                                  (*runners)[sub] = action.setup(*sub, global);
                                }
                                return [runners, args, &global]() {
                                  for (auto& [sub, run] : *runners)
                                    if (sub->parsed()) return run();
                                  return run_evaluation_command(*args, global);
                                };
                              });

}  // namespace
}  // namespace adallava::cli
