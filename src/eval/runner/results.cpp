#include "eval/runner/results.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "common/error.h"
#include "common/files.h"
#include "eval/runner/svg_plot.h"
#include "eval/scorers/records.h"

namespace adallava::eval {
namespace {

namespace fs = std::filesystem;

std::string value_text(const std::optional<double>& v, int decimals = 2) {
  return v && std::isfinite(*v) ? fmt::format("{:.{}f}", *v, decimals) : "-";
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// FLOPs with a unit chosen for the largest value (the tiny model is GFLOPs, 7B is TFLOPs).
std::pair<double, std::string> flops_unit(const std::vector<ResultRow>& rows) {
  double mx = 0;
  for (const auto& r : rows) mx = std::max(mx, r.mean_prefill_flops);
  if (mx >= 1e12) return {1e12, "TFLOPs"};
  if (mx >= 1e9) return {1e9, "GFLOPs"};
  if (mx >= 1e6) return {1e6, "MFLOPs"};
  return {1, "FLOPs"};
}

}  // namespace

std::string ResultRow::setting_label() const {
  return deadline_ms ? fmt::format("{} ms deadline", *deadline_ms) : fmt::format("{:.2f}", budget);
}

void fill_answer_stats(ResultRow& row, const std::string& answers_path) {
  row.answers_path = answers_path;
  row.answered = 0;
  double prefill = 0, flops = 0, latency = 0, per_q = 0, tokens = 0;
  double budgets = 0, measured = 0, predicted = 0;
  size_t met = 0;
  row.budget_min = 1, row.budget_max = 0;
  row.infeasible = 0;
  for (const auto& line : scorers::read_jsonl(answers_path)) {
    const auto& r = line.value;
    ++row.answered;
    if (row.deadline_ms) {
      const double budget = r.value("budget", 1.0);
      budgets += budget;
      row.budget_min = std::min(row.budget_min, budget);
      row.budget_max = std::max(row.budget_max, budget);
      if (r.contains("deadline") && r["deadline"].is_object()) {
        const auto& d = r["deadline"];
        met += d.value("met", false) ? 1 : 0;
        row.infeasible += d.value("feasible", true) ? 0 : 1;
        measured += d.value("measured_ms", 0.0);
        predicted += d.value("predicted_ms", 0.0);
      }
    }
    prefill += r.value("prefill_flops", 0.0);
    flops += r.value("flops", 0.0);
    tokens += r.value("new_tokens", 0.0);
    if (r.contains("timing") && r["timing"].is_object()) {
      const double total = r["timing"].value("total_ms", 0.0);
      const double batch = std::max(1.0, r["timing"].value("batch_size", 1.0));
      latency += total;
      per_q += total / batch;
    }
  }
  const double n = std::max<size_t>(1, row.answered);
  row.mean_prefill_flops = prefill / n;
  row.mean_flops = flops / n;
  row.mean_latency_ms = latency / n;
  row.ms_per_question = per_q / n;
  row.mean_new_tokens = tokens / n;
  if (row.deadline_ms) {
    if (row.answered == 0) row.budget_min = row.budget_max = 0;
    row.budget = budgets / n;
    row.met_share = static_cast<double>(met) / n;
    row.mean_measured_ms = measured / n;
    row.mean_predicted_ms = predicted / n;
  }
}

namespace {

// `first` minus `second` over their shared question ids; false when they share none.
bool paired_difference(const std::map<std::string, double>& first,
                       const std::map<std::string, double>& second, PairedDifference& out) {
  std::vector<double> d;
  out = PairedDifference{};
  for (const auto& [id, score] : first) {
    const auto it = second.find(id);
    if (it == second.end()) continue;
    d.push_back(score - it->second);
    out.first_better += score > it->second;
    out.second_better += score < it->second;
  }
  out.questions = d.size();
  if (d.empty()) return false;
  double sum = 0;
  for (double x : d) sum += x;
  out.mean = sum / d.size();
  double ss = 0;
  for (double x : d) ss += (x - out.mean) * (x - out.mean);
  const double se = d.size() > 1 ? std::sqrt(ss / (d.size() - 1) / d.size()) : 0.0;
  out.ci_low = out.mean - 1.96 * se;
  out.ci_high = out.mean + 1.96 * se;
  return true;
}

// "questions | difference | [interval] | first better | second better |" of a results.md row.
std::string paired_cells(const PairedDifference& d) {
  return fmt::format("{} | {:+.2f} | [{:+.2f}, {:+.2f}] | {} | {} |", d.questions, d.mean, d.ci_low,
                     d.ci_high, d.first_better, d.second_better);
}

// Whether `r` is a learned-scheduler row of `checkpoint` on `benchmark` at `budget` with
// per-question scores. Unpooled rows of several evaluations can hold more than one such row;
// each pairs only with the rows that share its question ids.
bool is_learned_row(const ResultRow& r, const std::string& checkpoint, const std::string& benchmark,
                    double budget) {
  return r.static_plan.empty() && !r.deadline_ms && !r.checkpoint.empty() &&
         r.checkpoint == checkpoint && r.benchmark == benchmark && r.budget == budget &&
         !r.item_scores.empty();
}

}  // namespace

std::vector<PairedComparison> paired_comparisons(const std::vector<ResultRow>& rows) {
  std::vector<PairedComparison> out;
  for (const auto& s : rows) {
    if (s.static_plan.empty() || s.deadline_ms || s.item_scores.empty()) continue;
    for (const auto& l : rows) {
      if (!is_learned_row(l, s.checkpoint, s.benchmark, s.budget)) continue;
      PairedComparison c{l.model, s.model, s.benchmark, s.budget, {}};
      if (paired_difference(l.item_scores, s.item_scores, c.diff)) out.push_back(std::move(c));
    }
  }
  return out;
}

std::vector<BudgetCost> budget_costs(const std::vector<ResultRow>& rows) {
  std::vector<BudgetCost> out;
  for (const auto& r : rows) {
    if (r.deadline_ms || r.checkpoint.empty() || r.budget >= 1.0 || r.item_scores.empty()) continue;
    for (const auto& full : rows) {
      if (!is_learned_row(full, r.checkpoint, r.benchmark, 1.0)) continue;
      BudgetCost c{r.model, r.benchmark, r.budget, {}};
      if (paired_difference(r.item_scores, full.item_scores, c.diff)) out.push_back(std::move(c));
    }
  }
  return out;
}

std::string results_markdown(const std::vector<ResultRow>& rows) {
  const auto [scale, unit] = flops_unit(rows);
  std::vector<std::string> benchmarks;
  // (model, budget or deadline) in first-seen order; a deadline row's mean budget differs
  // between benchmarks, so settings are told apart by their label.
  std::vector<std::pair<std::string, std::string>> settings;
  bool any_deadline = false;
  for (const auto& r : rows) {
    if (std::find(benchmarks.begin(), benchmarks.end(), r.benchmark) == benchmarks.end())
      benchmarks.push_back(r.benchmark);
    const std::pair<std::string, std::string> key{r.model, r.setting_label()};
    if (std::find(settings.begin(), settings.end(), key) == settings.end()) settings.push_back(key);
    any_deadline = any_deadline || r.deadline_ms.has_value();
  }
  auto find = [&](const std::string& model, const std::string& setting, const std::string& b) {
    for (const auto& r : rows)
      if (r.model == model && r.setting_label() == setting && r.benchmark == b) return &r;
    return static_cast<const ResultRow*>(nullptr);
  };

  std::string md = "## Scores per budget\n\n| model | budget |";
  std::string rule = "|---|---|";
  for (const auto& b : benchmarks) {
    std::string metric;
    for (const auto& r : rows)
      if (r.benchmark == b) metric = r.metric;
    md += fmt::format(" {} ({}) |", b, metric);
    rule += "---|";
  }
  md += fmt::format(" mean prefill {} | mean latency ms |\n", unit) + rule + "---|---|\n";
  for (const auto& [model, setting] : settings) {
    md += fmt::format("| {} | {} |", model, setting);
    double prefill = 0, latency = 0;
    size_t n = 0;
    for (const auto& b : benchmarks) {
      const auto* r = find(model, setting, b);
      md += " " + (r ? value_text(r->value) : std::string("-")) + " |";
      if (r) prefill += r->mean_prefill_flops, latency += r->mean_latency_ms, ++n;
    }
    md += fmt::format(" {:.4g} | {:.1f} |\n", n ? prefill / n / scale : 0.0, n ? latency / n : 0.0);
  }

  md += fmt::format(
      "\n## Details\n\n| model | benchmark | budget | metric | score | answered | prefill {} | "
      "total {} | latency ms | ms/question | new tokens |\n"
      "|---|---|---|---|---|---|---|---|---|---|---|\n",
      unit, unit);
  for (const auto& r : rows) {
    md += fmt::format(
        "| {} | {} | {} | {} | {} | {} | {:.4g} | {:.4g} | {:.1f} | {:.1f} | {:.1f} |\n", r.model,
        r.benchmark, r.setting_label(), r.metric, value_text(r.value), r.answered,
        r.mean_prefill_flops / scale, r.mean_flops / scale, r.mean_latency_ms, r.ms_per_question,
        r.mean_new_tokens);
  }

  if (any_deadline) {
    md +=
        "\n## Deadlines\n\nOne question at a time, each with the largest budget the latency model "
        "predicts to fit; met = measured time (vision tower + prefill + decode) within the "
        "deadline; infeasible = even the lowest budget was predicted to miss.\n\n"
        "| model | benchmark | deadline ms | score | met | budget mean | budget min | budget max | "
        "measured ms/question | predicted ms | infeasible |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|\n";
    for (const auto& r : rows) {
      if (!r.deadline_ms) continue;
      md += fmt::format(
          "| {} | {} | {} | {} | {:.1f}% | {:.3f} | {:.3f} | {:.3f} | {:.1f} | {:.1f} | {} |\n",
          r.model, r.benchmark, *r.deadline_ms, value_text(r.value), 100.0 * r.met_share, r.budget,
          r.budget_min, r.budget_max, r.mean_measured_ms, r.mean_predicted_ms, r.infeasible);
    }
  }

  const auto paired = paired_comparisons(rows);
  if (!paired.empty()) {
    md +=
        "\n## Learned scheduler against static plans, question by question\n\n"
        "Learned minus static score in points over the questions both answered, with its 95% "
        "interval (1.96 paired standard errors); the learned plan is better than the static one "
        "only where the whole interval is above 0.\n\n"
        "| model | static plan | benchmark | budget | questions | learned - static | 95% "
        "interval | learned better | static better |\n"
        "|---|---|---|---|---|---|---|---|---|\n";
    for (const auto& c : paired)
      md += fmt::format("| {} | {} | {} | {:.2f} | {}\n", c.model, c.baseline, c.benchmark,
                        c.budget, paired_cells(c.diff));
  }

  const auto costs = budget_costs(rows);
  if (!costs.empty()) {
    md +=
        "\n## Cost of each budget against the whole model, question by question\n\n"
        "Score at the budget minus the same model's learned row at budget 1 (every unit on), in "
        "points over the questions both answered, with its 95% interval.\n\n"
        "| model | benchmark | budget | questions | budget - whole | 95% interval | plan better | "
        "whole better |\n"
        "|---|---|---|---|---|---|---|---|\n";
    for (const auto& c : costs)
      md += fmt::format("| {} | {} | {:.2f} | {}\n", c.model, c.benchmark, c.budget,
                        paired_cells(c.diff));
  }

  for (const auto& b : benchmarks) {
    std::vector<std::string> families;
    for (const auto& r : rows)
      if (r.benchmark == b)
        for (const auto& [f, v] : r.per_family)
          if (std::find(families.begin(), families.end(), f) == families.end())
            families.push_back(f);
    if (families.empty()) continue;
    md += fmt::format("\n## Per family: {}\n\n| model | budget |", b);
    for (const auto& f : families) md += " " + f + " |";
    md += "\n|---|---|";
    for (size_t i = 0; i < families.size(); ++i) md += "---|";
    md += "\n";
    for (const auto& [model, setting] : settings) {
      const auto* r = find(model, setting, b);
      if (!r) continue;
      md += fmt::format("| {} | {} |", model, setting);
      for (const auto& f : families) {
        const auto it = r->per_family.find(f);
        md += " " + (it == r->per_family.end() ? std::string("-") : value_text(it->second)) + " |";
      }
      md += "\n";
    }
  }
  return md;
}

std::string results_csv(const std::vector<ResultRow>& rows) {
  std::string csv =
      "model,adaptive,benchmark,budget,metric,value,answered,mean_prefill_flops,mean_flops,"
      "mean_latency_ms,ms_per_question,mean_new_tokens,deadline_ms,met_share,budget_min,"
      "budget_max,mean_measured_ms,mean_predicted_ms,infeasible\n";
  for (const auto& r : rows) {
    csv += fmt::format("{},{},{},{},{},{},{},{},{},{},{},{}", csv_field(r.model),
                       r.adaptive ? 1 : 0, r.benchmark, r.budget, r.metric,
                       r.value && std::isfinite(*r.value) ? fmt::format("{}", *r.value) : "",
                       r.answered, r.mean_prefill_flops, r.mean_flops, r.mean_latency_ms,
                       r.ms_per_question, r.mean_new_tokens);
    // Budget rows leave the deadline columns empty.
    csv += r.deadline_ms
               ? fmt::format(",{},{},{},{},{},{},{}\n", *r.deadline_ms, r.met_share, r.budget_min,
                             r.budget_max, r.mean_measured_ms, r.mean_predicted_ms, r.infeasible)
               : std::string(",,,,,,,\n");
  }
  return csv;
}

nlohmann::ordered_json results_json(const std::vector<ResultRow>& rows) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& r : rows) {
    nlohmann::ordered_json j;
    j["model"] = r.model;
    j["adaptive"] = r.adaptive;
    j["benchmark"] = r.benchmark;
    j["budget"] = r.budget;
    j["metric"] = r.metric;
    j["value"] = r.value && std::isfinite(*r.value) ? nlohmann::ordered_json(*r.value)
                                                    : nlohmann::ordered_json(nullptr);
    j["answered"] = r.answered;
    j["mean_prefill_flops"] = r.mean_prefill_flops;
    j["mean_flops"] = r.mean_flops;
    j["mean_latency_ms"] = r.mean_latency_ms;
    j["ms_per_question"] = r.ms_per_question;
    j["mean_new_tokens"] = r.mean_new_tokens;
    if (r.deadline_ms) {  // budget rows keep the keys they always had
      j["deadline_ms"] = *r.deadline_ms;
      j["met_share"] = r.met_share;
      j["budget_min"] = r.budget_min;
      j["budget_max"] = r.budget_max;
      j["mean_measured_ms"] = r.mean_measured_ms;
      j["mean_predicted_ms"] = r.mean_predicted_ms;
      j["infeasible"] = r.infeasible;
    }
    j["per_family"] = r.per_family;
    j["answers"] = r.answers_path;
    if (!r.checkpoint.empty()) j["checkpoint"] = r.checkpoint;
    if (!r.static_plan.empty()) j["static_plan"] = r.static_plan;
    if (!r.item_scores.empty()) j["item_scores"] = r.item_scores;
    out.push_back(std::move(j));
  }
  return {{"results", out}};
}

std::vector<ResultRow> rows_from_json(const nlohmann::json& j, const std::string& source) {
  if (!j.is_object() || !j.contains("results") || !j["results"].is_array())
    fail("{}: expected {{\"results\": [...]}} as written by `adallava eval`", source);
  std::vector<ResultRow> rows;
  // The entry and field being read, for the error message.
  size_t index = 0;
  std::string field;
  try {
    for (const auto& e : j["results"]) {
      auto need = [&](const char* key) -> const nlohmann::json& {
        field = key;
        return e.at(key);
      };
      auto or_default = [&](const char* key, auto fallback) {
        field = key;
        return e.contains(key) ? e[key].get<decltype(fallback)>() : fallback;
      };
      ResultRow r;
      r.model = need("model").get<std::string>();
      r.adaptive = need("adaptive").get<bool>();
      r.benchmark = need("benchmark").get<std::string>();
      r.budget = need("budget").get<double>();
      r.metric = need("metric").get<std::string>();
      if (need("value").is_number()) r.value = e["value"].get<double>();
      r.answered = need("answered").get<size_t>();
      r.mean_prefill_flops = need("mean_prefill_flops").get<double>();
      r.mean_flops = need("mean_flops").get<double>();
      r.mean_latency_ms = need("mean_latency_ms").get<double>();
      r.ms_per_question = or_default("ms_per_question", 0.0);
      r.mean_new_tokens = or_default("mean_new_tokens", 0.0);
      r.per_family = or_default("per_family", std::map<std::string, double>());
      r.answers_path = or_default("answers", std::string());
      r.checkpoint = or_default("checkpoint", std::string());
      r.static_plan = or_default("static_plan", std::string());
      r.item_scores = or_default("item_scores", std::map<std::string, double>());
      if (e.contains("deadline_ms")) {
        r.deadline_ms = need("deadline_ms").get<double>();
        r.met_share = need("met_share").get<double>();
        r.budget_min = need("budget_min").get<double>();
        r.budget_max = need("budget_max").get<double>();
        r.mean_measured_ms = need("mean_measured_ms").get<double>();
        r.mean_predicted_ms = need("mean_predicted_ms").get<double>();
        r.infeasible = need("infeasible").get<size_t>();
      }
      rows.push_back(std::move(r));
      ++index;
    }
  } catch (const nlohmann::json::exception& ex) {
    fail("{}: results[{}].{}: {}", source, index, field, ex.what());
  }
  return rows;
}

void tag_item_ids(std::vector<ResultRow>& rows, const std::string& tag) {
  for (auto& r : rows) {
    std::map<std::string, double> tagged;
    for (const auto& [id, score] : r.item_scores) tagged.emplace(tag + "/" + id, score);
    r.item_scores = std::move(tagged);
  }
}

namespace {

// One row over the rows of one (model, benchmark, setting): see pool_rows.
ResultRow pooled_row(const std::vector<const ResultRow*>& pool) {
  ResultRow p = *pool.front();
  p.answers_path.clear();
  p.per_family.clear();
  p.item_scores.clear();
  p.answered = 0;
  for (const auto* r : pool) p.answered += r->answered;
  const double n = std::max<size_t>(1, p.answered);
  auto weighted = [&](double ResultRow::*field) {
    double sum = 0;
    for (const auto* r : pool) sum += r->*field * r->answered;
    return sum / n;
  };
  p.mean_prefill_flops = weighted(&ResultRow::mean_prefill_flops);
  p.mean_flops = weighted(&ResultRow::mean_flops);
  p.mean_latency_ms = weighted(&ResultRow::mean_latency_ms);
  p.ms_per_question = weighted(&ResultRow::ms_per_question);
  p.mean_new_tokens = weighted(&ResultRow::mean_new_tokens);
  if (p.deadline_ms) {
    p.budget = weighted(&ResultRow::budget);
    p.met_share = weighted(&ResultRow::met_share);
    p.mean_measured_ms = weighted(&ResultRow::mean_measured_ms);
    p.mean_predicted_ms = weighted(&ResultRow::mean_predicted_ms);
    p.infeasible = 0;
    for (const auto* r : pool) {
      p.budget_min = std::min(p.budget_min, r->budget_min);
      p.budget_max = std::max(p.budget_max, r->budget_max);
      p.infeasible += r->infeasible;
    }
  }
  bool every_item_scored = true, every_value = true;
  double value_sum = 0;
  std::map<std::string, double> family_sum, family_weight;
  for (const auto* r : pool) {
    every_item_scored = every_item_scored && !r->item_scores.empty();
    every_value = every_value && r->value && std::isfinite(*r->value);
    if (r->value) value_sum += *r->value * r->answered;
    for (const auto& [id, score] : r->item_scores) {
      if (!p.item_scores.emplace(id, score).second)
        fail(
            "eval plot: question {} of {} ({}, budget {}) appears in two evaluations; tag "
            "each evaluation's ids apart before pooling",
            id, r->model, r->benchmark, r->setting_label());
    }
    for (const auto& [family, v] : r->per_family) {
      family_sum[family] += v * r->answered;
      family_weight[family] += static_cast<double>(r->answered);
    }
  }
  for (const auto& [family, sum] : family_sum)
    if (family_weight[family] > 0) p.per_family[family] = sum / family_weight[family];
  if (every_item_scored) {
    double sum = 0;
    for (const auto& [id, score] : p.item_scores) sum += score;
    p.value = sum / p.item_scores.size();
  } else {
    p.value = every_value ? std::optional<double>(value_sum / n) : std::nullopt;
  }
  return p;
}

}  // namespace

std::vector<ResultRow> pool_rows(const std::vector<ResultRow>& rows) {
  // The rows of each pool, pools in first-seen order of their key.
  std::vector<std::vector<const ResultRow*>> pools;
  for (const auto& r : rows) {
    auto same = [&](const std::vector<const ResultRow*>& p) {
      const ResultRow& f = *p.front();
      return f.model == r.model && f.benchmark == r.benchmark && f.deadline_ms == r.deadline_ms &&
             (r.deadline_ms || f.budget == r.budget);
    };
    auto it = std::find_if(pools.begin(), pools.end(), same);
    if (it == pools.end())
      pools.push_back({&r});
    else
      it->push_back(&r);
  }
  std::vector<ResultRow> out;
  for (const auto& pool : pools) out.push_back(pooled_row(pool));
  return out;
}

void write_results(const std::string& dir, const std::vector<ResultRow>& rows,
                   const std::string& x_axis) {
  fs::create_directories(dir);
  write_text_file_atomic(join_path(dir, "results.md"),
                         "# Evaluation results\n\n" + results_markdown(rows));
  write_text_file_atomic(join_path(dir, "results.csv"), results_csv(rows));
  write_text_file_atomic(join_path(dir, "results.json"), results_json(rows).dump(2) + "\n");

  const auto [scale, unit] = flops_unit(rows);
  const bool latency = x_axis == "latency";
  std::vector<PlotPanel> panels;
  std::vector<std::string> benchmarks;
  for (const auto& r : rows)
    if (std::find(benchmarks.begin(), benchmarks.end(), r.benchmark) == benchmarks.end())
      benchmarks.push_back(r.benchmark);
  for (const auto& b : benchmarks) {
    PlotPanel panel;
    panel.title = b;
    panel.x_label = latency ? "mean latency (ms)" : "mean prefill " + unit;
    std::map<std::string, size_t> series_of;
    for (const auto& r : rows) {
      if (r.benchmark != b || !r.value) continue;
      panel.y_label = r.metric;
      // A model's deadlines are a curve of their own beside its budget curve.
      const std::string series = r.deadline_ms ? r.model + " (deadlines)" : r.model;
      if (!series_of.count(series)) {
        series_of[series] = panel.series.size();
        panel.series.push_back({series, r.adaptive || r.deadline_ms.has_value(), {}});
      }
      const double x = latency ? r.mean_latency_ms : r.mean_prefill_flops / scale;
      panel.series[series_of[series]].points.emplace_back(x, *r.value);
    }
    panels.push_back(std::move(panel));
  }
  write_text_file_atomic(
      join_path(dir, "plot.svg"),
      render_svg(panels, latency ? "Accuracy vs. latency" : "Accuracy vs. prefill FLOPs"));
}

}  // namespace adallava::eval
