// `adallava eval <action>`: benchmark evaluation. Each action is one entry of eval_actions()
// below: `score` (upstream-exact metrics from an answers file) now; the model-running part
// (producing the answers .jsonl) is meant to be added as another action the same way.
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "command.h"
#include "common/error.h"
#include "common/files.h"
#include "eval/scorers/benchmarks.h"

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

const std::vector<EvalAction>& eval_actions() {
  static const std::vector<EvalAction> actions = {
      {"score", "Score an answers file with the benchmark's upstream metric code", setup_score},
  };
  return actions;
}

RegisterCommand register_eval("eval", "Evaluate on VQA benchmarks", 40,
                              [](CLI::App& app,
                                 const GlobalOptions& global) -> std::function<int()> {
                                app.require_subcommand(1);
                                auto runners =
                                    std::make_shared<std::map<CLI::App*, std::function<int()>>>();
                                for (const auto& action : eval_actions()) {
                                  CLI::App* sub =
                                      app.add_subcommand(action.name, action.description);
                                  (*runners)[sub] = action.setup(*sub, global);
                                }
                                return [runners]() {
                                  for (auto& [sub, run] : *runners)
                                    if (sub->parsed()) return run();
                                  return 1;
                                };
                              });

}  // namespace
}  // namespace adallava::cli
