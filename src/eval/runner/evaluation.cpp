#include "eval/runner/evaluation.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "adaptive/adallava.h"
#include "common/error.h"
#include "common/files.h"
#include "eval/runner/answer_file.h"
#include "eval/runner/runner.h"
#include "eval/runner/scoring.h"
#include "model/config.h"
#include "model/loader.h"
#include "model/pipeline.h"

namespace adallava::eval {
namespace {

namespace fs = std::filesystem;

std::string answers_dir(const EvaluationRequest& r, const std::string& label, const EvalConfig& c,
                        double budget) {
  return (fs::path(r.out_dir) / label / c.benchmark / budget_dir_name(budget)).string();
}

std::string label_of(const ModelSpec& m) {
  return m.label.empty() ? model_name_from_path(m.path) : m.label;
}

// The budgets a model is evaluated at: a plain LLaVA has no budget knob, so it is one static
// point at full cost.
std::vector<double> budgets_for(bool adaptive, const std::vector<double>& requested,
                                const std::string& label) {
  if (adaptive) return requested;
  if (requested.size() != 1 || requested[0] != 1.0)
    spdlog::warn(
        "[eval] {} is a plain LLaVA checkpoint: evaluated once at budget 1.0 (static "
        "baseline)",
        label);
  return {1.0};
}

ResultRow score_row(const EvalConfig& c, const std::string& label, bool adaptive, double budget,
                    const std::string& dir, bool partial) {
  const std::string answers = join_path(dir, "answers.jsonl");
  ResultRow row;
  row.model = label;
  row.adaptive = adaptive;
  row.benchmark = c.benchmark;
  row.budget = budget;
  fill_answer_stats(row, answers);
  try {
    const auto score = score_answers(c, answers);
    row.metric = score.metric;
    row.value = score.value;
    row.per_family = score.per_family;
    write_text_file_atomic(join_path(dir, "metrics.json"), score.metrics.dump(2) + "\n");
    write_text_file_atomic(join_path(dir, "report.txt"), score.report);
    if (!score.submission.empty())
      write_text_file_atomic(join_path(dir, "submission.json"), score.submission);
    spdlog::info("[eval] {} {} budget {:.2f}: {} = {}", label, c.benchmark, budget, row.metric,
                 row.value ? fmt::format("{:.2f}", *row.value) : "n/a");
  } catch (const Error& e) {
    // Scorers that pair answers with labels by position (POPE, MME) cannot score a subset.
    if (!partial) throw;
    spdlog::warn("[eval] {} {} budget {:.2f}: not scored ({}): {}", label, c.benchmark, budget,
                 "--limit answers a subset", e.what());
  }
  return row;
}

}  // namespace

bool is_adaptive_checkpoint(const std::string& model_dir) {
  return adaptive::unit_spec_from_config(model::load_llava_config(model_dir)).has_value();
}

std::string budget_dir_name(double budget) {
  return fmt::format("budget_{:.2f}", budget);
}

std::string chunk_file_name(int64_t chunk_idx, int64_t num_chunks) {
  return fmt::format("answers.chunk-{}-of-{}.jsonl", chunk_idx, num_chunks);
}

std::vector<ResultRow> run_evaluation(const EvaluationRequest& r) {
  if (r.configs.empty()) fail("eval: give at least one --config");
  if (r.models.empty()) fail("eval: give at least one --model");
  for (double b : r.budgets)
    if (!(b >= 0.0 && b <= 1.0)) fail("--budgets: {} is outside [0, 1]", b);
  const bool chunked = r.num_chunks > 1 && !r.merge;
  std::vector<ResultRow> rows;
  for (const auto& m : r.models) {
    const std::string label = label_of(m);
    const bool adaptive = is_adaptive_checkpoint(m.path);
    auto budgets = budgets_for(adaptive, r.budgets, label);
    // At budget 1 every policy runs every unit: a static baseline would repeat the model's row.
    if (!m.static_plan.empty())
      budgets.erase(std::remove(budgets.begin(), budgets.end(), 1.0), budgets.end());
    std::optional<model::LlavaPipeline> pipeline;
    if (!r.merge) {
      model::LoadOptions load;
      load.vision_tower_dir = r.vision_tower;
      load.dtype = model::parse_compute_dtype(r.dtype, "--dtype");
      pipeline = adaptive::load_pipeline(m.path, load);  // plain LLaVA or AdaLLaVA
      if (!m.static_plan.empty())
        adaptive::use_static_plans(*pipeline->loaded.model,
                                   adaptive::parse_static_policy(m.static_plan));
      if (m.keep_layers > 0) pipeline->loaded.model->keep_first_layers(m.keep_layers);
    }
    const std::string model_id = model_name_from_path(m.path);
    for (const auto& c : r.configs) {
      auto items = read_benchmark_items(c);
      spdlog::info("[eval] {}: {} questions ({})", c.benchmark, items.size(),
                   c.resolve(c.questions));
      RunOptions run;
      run.limit = r.limit;
      run.num_chunks = r.num_chunks;
      run.chunk_idx = r.chunk_idx;
      run.model_id = model_id;
      if (r.merge) {
        for (double budget : budgets) {
          const std::string dir = answers_dir(r, label, c, budget);
          std::map<size_t, StoredAnswer> merged;
          for (int64_t k = 0; k < r.num_chunks; ++k) {
            const std::string part = join_path(dir, chunk_file_name(k, r.num_chunks));
            if (!file_exists(part)) fail("--merge: chunk file {} is missing", part);
            for (auto& [index, a] : read_stored_answers(part, items, budget, model_id)) {
              if (merged.count(index))
                fail("--merge: {} answers question {} that another chunk answered", part, index);
              merged[index] = std::move(a);
            }
          }
          RunOptions all = run;
          all.num_chunks = 1;
          all.chunk_idx = 0;
          for (size_t index : selected_items(items.size(), all))
            if (!merged.count(index))
              fail("--merge: question {} ({}) has no answer in the chunk files of {}", index,
                   items[index].source, dir);
          write_answers_in_order(join_path(dir, "answers.jsonl"), merged);
          rows.push_back(score_row(c, label, adaptive, budget, dir, r.limit.has_value()));
        }
        continue;
      }
      const size_t batch_size = r.batch_size ? *r.batch_size : static_cast<size_t>(c.batch_size);
      const auto prepared = prepare_benchmark(*pipeline, c, std::move(items), batch_size);
      for (double budget : budgets) {
        const std::string dir = answers_dir(r, label, c, budget);
        run.recorded_budget = budget;
        run.budget = adaptive ? std::optional<double>(budget) : std::nullopt;
        run.answers_path =
            join_path(dir, chunked ? chunk_file_name(r.chunk_idx, r.num_chunks) : "answers.jsonl");
        const auto stats = run_answers(*pipeline, prepared, run);
        spdlog::info("[eval] {} {} budget {:.2f}: {} answered now, {} from {}", label, c.benchmark,
                     budget, stats.generated, stats.already_answered, run.answers_path);
        if (!chunked)
          rows.push_back(score_row(c, label, adaptive, budget, dir, r.limit.has_value()));
      }
    }
  }
  if (!chunked) write_results(r.out_dir, rows, r.x_axis);
  return rows;
}

}  // namespace adallava::eval
