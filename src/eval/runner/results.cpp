#include "eval/runner/results.h"

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

void fill_answer_stats(ResultRow& row, const std::string& answers_path) {
  row.answers_path = answers_path;
  row.answered = 0;
  double prefill = 0, flops = 0, latency = 0, per_q = 0, tokens = 0;
  for (const auto& line : scorers::read_jsonl(answers_path)) {
    const auto& r = line.value;
    ++row.answered;
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
}

std::string results_markdown(const std::vector<ResultRow>& rows) {
  const auto [scale, unit] = flops_unit(rows);
  std::vector<std::string> benchmarks;
  std::vector<std::pair<std::string, double>> settings;  // (model, budget) in first-seen order
  for (const auto& r : rows) {
    if (std::find(benchmarks.begin(), benchmarks.end(), r.benchmark) == benchmarks.end())
      benchmarks.push_back(r.benchmark);
    const std::pair<std::string, double> key{r.model, r.budget};
    if (std::find(settings.begin(), settings.end(), key) == settings.end()) settings.push_back(key);
  }
  auto find = [&](const std::string& model, double budget, const std::string& b) {
    for (const auto& r : rows)
      if (r.model == model && r.budget == budget && r.benchmark == b) return &r;
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
  for (const auto& [model, budget] : settings) {
    md += fmt::format("| {} | {:.2f} |", model, budget);
    double prefill = 0, latency = 0;
    size_t n = 0;
    for (const auto& b : benchmarks) {
      const auto* r = find(model, budget, b);
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
        "| {} | {} | {:.2f} | {} | {} | {} | {:.4g} | {:.4g} | {:.1f} | {:.1f} | {:.1f} |\n",
        r.model, r.benchmark, r.budget, r.metric, value_text(r.value), r.answered,
        r.mean_prefill_flops / scale, r.mean_flops / scale, r.mean_latency_ms, r.ms_per_question,
        r.mean_new_tokens);
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
    for (const auto& [model, budget] : settings) {
      const auto* r = find(model, budget, b);
      if (!r) continue;
      md += fmt::format("| {} | {:.2f} |", model, budget);
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
      "mean_latency_ms,ms_per_question,mean_new_tokens\n";
  for (const auto& r : rows) {
    csv += fmt::format("{},{},{},{},{},{},{},{},{},{},{},{}\n", csv_field(r.model),
                       r.adaptive ? 1 : 0, r.benchmark, r.budget, r.metric,
                       r.value && std::isfinite(*r.value) ? fmt::format("{}", *r.value) : "",
                       r.answered, r.mean_prefill_flops, r.mean_flops, r.mean_latency_ms,
                       r.ms_per_question, r.mean_new_tokens);
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
    j["per_family"] = r.per_family;
    j["answers"] = r.answers_path;
    out.push_back(std::move(j));
  }
  return {{"results", out}};
}

std::vector<ResultRow> rows_from_json(const nlohmann::json& j, const std::string& source) {
  if (!j.is_object() || !j.contains("results") || !j["results"].is_array())
    fail("{}: expected {{\"results\": [...]}} as written by `adallava eval`", source);
  std::vector<ResultRow> rows;
  try {
    for (const auto& e : j["results"]) {
      ResultRow r;
      r.model = e.at("model").get<std::string>();
      r.adaptive = e.at("adaptive").get<bool>();
      r.benchmark = e.at("benchmark").get<std::string>();
      r.budget = e.at("budget").get<double>();
      r.metric = e.at("metric").get<std::string>();
      if (e.at("value").is_number()) r.value = e["value"].get<double>();
      r.answered = e.at("answered").get<size_t>();
      r.mean_prefill_flops = e.at("mean_prefill_flops").get<double>();
      r.mean_flops = e.at("mean_flops").get<double>();
      r.mean_latency_ms = e.at("mean_latency_ms").get<double>();
      r.ms_per_question = e.value("ms_per_question", 0.0);
      r.mean_new_tokens = e.value("mean_new_tokens", 0.0);
      if (e.contains("per_family"))
        r.per_family = e["per_family"].get<std::map<std::string, double>>();
      r.answers_path = e.value("answers", std::string());
      rows.push_back(std::move(r));
    }
  } catch (const nlohmann::json::exception& ex) {
    fail("{}: bad results entry: {}", source, ex.what());
  }
  return rows;
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
      if (!series_of.count(r.model)) {
        series_of[r.model] = panel.series.size();
        panel.series.push_back({r.model, r.adaptive, {}});
      }
      const double x = latency ? r.mean_latency_ms : r.mean_prefill_flops / scale;
      panel.series[series_of[r.model]].points.emplace_back(x, *r.value);
    }
    panels.push_back(std::move(panel));
  }
  write_text_file_atomic(
      join_path(dir, "plot.svg"),
      render_svg(panels, latency ? "Accuracy vs. latency" : "Accuracy vs. prefill FLOPs"));
}

}  // namespace adallava::eval
