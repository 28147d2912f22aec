#include "eval/runner/evaluation.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "adaptive/adallava.h"
#include "adaptive/deadline.h"
#include "common/error.h"
#include "common/files.h"
#include "eval/runner/answer_file.h"
#include "eval/runner/model_fingerprint.h"
#include "eval/runner/runner.h"
#include "eval/runner/scoring.h"
#include "model/config.h"
#include "model/loader.h"
#include "model/pipeline.h"

namespace adallava::eval {
namespace {

namespace fs = std::filesystem;

// One evaluated setting of a model: a fixed budget, or a deadline the budget is chosen for.
struct Setting {
  double budget = 1.0;
  std::optional<double> deadline_ms;
  size_t controller = 0;  // deadline mode: index of the model's controller for this deadline

  std::string dir_name() const {
    return deadline_ms ? deadline_dir_name(*deadline_ms) : budget_dir_name(budget);
  }
  std::string name() const {
    return deadline_ms ? fmt::format("deadline {} ms", *deadline_ms)
                       : fmt::format("budget {:.2f}", budget);
  }
};

std::string answers_dir(const EvaluationRequest& r, const std::string& label, const EvalConfig& c,
                        const Setting& setting) {
  return (fs::path(r.out_dir) / label / c.benchmark / setting.dir_name()).string();
}

std::string label_of(const ModelSpec& m) {
  return m.label.empty() ? model_name_from_path(m.path) : m.label;
}

// The budgets a model is evaluated at: a plain LLaVA has no budget knob, so it is one static
// point at full cost.
std::vector<double> budgets_for(bool adaptive, const std::vector<double>& requested,
                                const std::string& label) {
  if (adaptive || requested.empty()) return requested;
  if (requested.size() != 1 || requested[0] != 1.0)
    spdlog::warn(
        "[eval] {} is a plain LLaVA checkpoint: evaluated once at budget 1.0 (static "
        "baseline)",
        label);
  return {1.0};
}

ResultRow score_row(const EvalConfig& c, const ModelSpec& m, const std::string& label,
                    bool adaptive, const Setting& setting, const std::string& dir, bool partial) {
  const std::string answers = join_path(dir, "answers.jsonl");
  ResultRow row;
  row.model = label;
  row.adaptive = adaptive;
  row.benchmark = c.benchmark;
  row.budget = setting.budget;
  row.deadline_ms = setting.deadline_ms;
  // A depth-cut model is another model: it pairs with nothing.
  row.checkpoint = m.keep_layers > 0 ? "" : m.path;
  row.static_plan = m.static_plan;
  fill_answer_stats(row, answers);  // deadline rows: budget becomes the mean chosen budget
  try {
    const auto score = score_answers(c, answers);
    row.metric = score.metric;
    row.value = score.value;
    row.per_family = score.per_family;
    row.item_scores = score.item_scores;
    write_text_file_atomic(join_path(dir, "metrics.json"), score.metrics.dump(2) + "\n");
    write_text_file_atomic(join_path(dir, "report.txt"), score.report);
    if (!score.submission.empty())
      write_text_file_atomic(join_path(dir, "submission.json"), score.submission);
    spdlog::info("[eval] {} {} {}: {} = {}", label, c.benchmark, setting.name(), row.metric,
                 row.value ? fmt::format("{:.2f}", *row.value) : "n/a");
    if (row.deadline_ms)
      spdlog::info(
          "[eval] {} {} {}: met by {:.1f}% of {} questions, budget mean {:.3f} (min {:.3f}, max "
          "{:.3f}), measured {:.1f} ms/question",
          label, c.benchmark, setting.name(), 100.0 * row.met_share, row.answered, row.budget,
          row.budget_min, row.budget_max, row.mean_measured_ms);
  } catch (const Error& e) {
    // Scorers that pair answers with labels by position (POPE, MME) cannot score a subset.
    if (!partial) throw;
    spdlog::warn("[eval] {} {} {}: not scored ({}): {}", label, c.benchmark, setting.name(),
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

std::string deadline_dir_name(double deadline_ms) {
  return fmt::format("deadline_{}ms", deadline_ms);
}

std::string chunk_file_name(int64_t chunk_idx, int64_t num_chunks) {
  return fmt::format("answers.chunk-{}-of-{}.jsonl", chunk_idx, num_chunks);
}

std::vector<ResultRow> run_evaluation(const EvaluationRequest& r) {
  if (r.configs.empty()) fail("eval: give at least one --config");
  if (r.models.empty()) fail("eval: give at least one --model");
  if (r.budgets.empty() && r.deadlines_ms.empty()) fail("eval: give --budgets or --deadline-ms");
  for (double b : r.budgets)
    if (!(b >= 0.0 && b <= 1.0)) fail("--budgets: {} is outside [0, 1]", b);
  for (double d : r.deadlines_ms)
    if (!(d > 0) || !std::isfinite(d))
      fail("--deadline-ms: a deadline must be a positive, finite number of milliseconds, got {}",
           d);
  const bool chunked = r.num_chunks > 1 && !r.merge;
  const bool deadlines = !r.deadlines_ms.empty();
  if (deadlines && !r.merge) {
    // Every latency file is checked against its checkpoint before the first (slow) load.
    for (const auto& m : r.models)
      if (!m.latency_model.empty() && m.keep_layers == 0)
        adaptive::load_latency_model_for_checkpoint(m.latency_model, m.path, r.dtype);
    spdlog::info(
        "[eval] deadline mode answers one question at a time in question order: the deadline "
        "and the budget chosen for it are per request (batch size applies to budget rows only)");
  }
  std::vector<ResultRow> rows;
  for (const auto& m : r.models) {
    const std::string label = label_of(m);
    const bool adaptive = is_adaptive_checkpoint(m.path);
    std::vector<Setting> settings;
    for (double budget : budgets_for(adaptive, r.budgets, label)) {
      // At budget 1 every policy runs every unit: a static baseline would repeat the model's row.
      if (!m.static_plan.empty() && budget == 1.0) continue;
      settings.push_back({budget, std::nullopt, 0});
    }
    // A depth ablation is a different model shape than the checkpoint's latency profile.
    if (deadlines && m.keep_layers > 0)
      spdlog::info("[eval] {}: depth ablation, evaluated at --budgets only", label);
    else
      for (size_t i = 0; i < r.deadlines_ms.size(); ++i)
        settings.push_back({1.0, r.deadlines_ms[i], i});
    if (settings.empty()) continue;
    const bool model_deadlines = settings.back().deadline_ms.has_value();
    std::optional<model::LlavaPipeline> pipeline;
    std::vector<adaptive::DeadlineController> controllers;
    if (!r.merge) {
      model::LoadOptions load;
      load.vision_tower_dir = r.vision_tower;
      load.dtype = model::parse_compute_dtype(r.dtype, "--dtype");
      pipeline = adaptive::load_pipeline(m.path, load);  // plain LLaVA or AdaLLaVA
      if (!m.static_plan.empty())
        adaptive::use_static_plans(*pipeline->loaded.model,
                                   adaptive::parse_static_policy(m.static_plan));
      if (m.keep_layers > 0) pipeline->loaded.model->keep_first_layers(m.keep_layers);
      if (model_deadlines) {
        auto& model = *pipeline->loaded.model;
        const auto latency = adaptive::latency_model_for(model, m.latency_model, true);
        for (size_t i = 0; i < r.deadlines_ms.size(); ++i)
          controllers.push_back(adaptive::make_deadline_controller(model, latency));
      }
    }
    const std::string model_id = model_name_from_path(m.path);
    const std::string fingerprint = r.merge ? "" : checkpoint_fingerprint(m.path);
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
        for (const auto& setting : settings) {
          const std::string dir = answers_dir(r, label, c, setting);
          std::map<size_t, StoredAnswer> merged;
          for (int64_t k = 0; k < r.num_chunks; ++k) {
            const std::string part = join_path(dir, chunk_file_name(k, r.num_chunks));
            if (!file_exists(part)) fail("--merge: chunk file {} is missing", part);
            for (auto& [index, a] :
                 read_stored_answers(part, items, setting.budget, model_id, setting.deadline_ms)) {
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
          rows.push_back(score_row(c, m, label, adaptive, setting, dir, r.limit.has_value()));
        }
        continue;
      }
      const size_t batch_size = r.batch_size ? *r.batch_size : static_cast<size_t>(c.batch_size);
      const auto prepared = prepare_benchmark(*pipeline, c, std::move(items), batch_size);
      for (const auto& setting : settings) {
        const std::string dir = answers_dir(r, label, c, setting);
        claim_answer_folder(dir, m.path, fingerprint);
        run.recorded_budget = setting.budget;
        run.budget = adaptive ? std::optional<double>(setting.budget) : std::nullopt;
        run.deadline_ms = setting.deadline_ms;
        run.deadline_controller =
            setting.deadline_ms ? &controllers.at(setting.controller) : nullptr;
        run.answers_path =
            join_path(dir, chunked ? chunk_file_name(r.chunk_idx, r.num_chunks) : "answers.jsonl");
        const auto stats = run_answers(*pipeline, prepared, run);
        spdlog::info("[eval] {} {} {}: {} answered now, {} from {}", label, c.benchmark,
                     setting.name(), stats.generated, stats.already_answered, run.answers_path);
        if (!chunked)
          rows.push_back(score_row(c, m, label, adaptive, setting, dir, r.limit.has_value()));
      }
    }
  }
  if (!chunked) write_results(r.out_dir, rows, r.x_axis);
  return rows;
}

}  // namespace adallava::eval
