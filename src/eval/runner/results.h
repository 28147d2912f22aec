// The accuracy-cost table of an evaluation: one row per (model, benchmark, budget or deadline),
// written as results.md, results.csv and results.json, and drawn by svg_plot.h.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace adallava::eval {

struct ResultRow {
  std::string model;      // label of the model/variant (one curve per label)
  bool adaptive = false;  // false: a static baseline (one point)
  std::string benchmark;
  double budget = 1.0;  // deadline rows: the mean of the budgets the controller chose
  std::string metric;
  std::optional<double> value;
  size_t answered = 0;
  double mean_prefill_flops = 0, mean_flops = 0;
  double mean_latency_ms = 0;  // wall time of the batch each answer came from, averaged
  double ms_per_question = 0;  // batch wall time / batch size, averaged (throughput view)
  double mean_new_tokens = 0;
  std::map<std::string, double> per_family;
  std::string answers_path;

  // Deadline rows (deadline mode: one question at a time, each budget chosen to fit).
  std::optional<double> deadline_ms;
  double met_share = 0;  // answers whose measured time was within the deadline
  double budget_min = 0, budget_max = 0;
  double mean_measured_ms = 0;   // vision tower + prefill + decode, as the controller measured
  double mean_predicted_ms = 0;  // the controller's prediction for the chosen budget
  size_t infeasible = 0;         // answers for which even the lowest budget was predicted to miss

  // "0.50" for a budget row, "40 ms deadline" for a deadline row (tables, plot legends).
  std::string setting_label() const;
};

// Answer-file statistics (means of the per-answer fields) filled into `row`.
void fill_answer_stats(ResultRow& row, const std::string& answers_path);

std::string results_markdown(const std::vector<ResultRow>& rows);
std::string results_csv(const std::vector<ResultRow>& rows);
nlohmann::ordered_json results_json(const std::vector<ResultRow>& rows);
std::vector<ResultRow> rows_from_json(const nlohmann::json& j, const std::string& source);

// Writes results.md, results.csv, results.json and plot.svg into `dir`.
void write_results(const std::string& dir, const std::vector<ResultRow>& rows,
                   const std::string& x_axis);

}  // namespace adallava::eval
