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
  // Pairing of a static-plan baseline with its learned-scheduler row (same checkpoint, benchmark
  // and budget) for the paired comparison; results.json keeps them so that `eval plot` can pair
  // and pool rows of earlier evaluations.
  std::string checkpoint;
  std::string static_plan;  // "" = the learned scheduler (or a plain model)
  std::map<std::string, double> item_scores;

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

// One score minus another, question by question, over the questions both answered: the mean
// difference in points, its 95% interval (normal approximation, 1.96 standard errors of the
// paired differences) and the questions where either side scores higher.
struct PairedDifference {
  size_t questions = 0;
  double mean = 0, ci_low = 0, ci_high = 0;
  size_t first_better = 0, second_better = 0;
};

// Learned scheduler (first) minus a static plan of the same unit count (second).
struct PairedComparison {
  std::string model;     // the learned row's label
  std::string baseline;  // the static row's label
  std::string benchmark;
  double budget = 0;
  PairedDifference diff;
};
std::vector<PairedComparison> paired_comparisons(const std::vector<ResultRow>& rows);

// What a budget costs: every row below budget 1, learned or static plan (first), minus the same
// checkpoint's learned row at budget 1, the whole model (second). A static plan already level
// with the whole model leaves a learned plan nothing to win at that budget but by exceeding the
// whole model.
struct BudgetCost {
  std::string model;  // the row's label (learned or static plan)
  std::string benchmark;
  double budget = 0;
  PairedDifference diff;
};
std::vector<BudgetCost> budget_costs(const std::vector<ResultRow>& rows);

std::string results_markdown(const std::vector<ResultRow>& rows);
std::string results_csv(const std::vector<ResultRow>& rows);
nlohmann::ordered_json results_json(const std::vector<ResultRow>& rows);
std::vector<ResultRow> rows_from_json(const nlohmann::json& j, const std::string& source);

// Prefixes every per-question id with `tag` ("<tag>/<id>"), so that rows read from different
// evaluations never pair with each other's questions (their ids may coincide).
void tag_item_ids(std::vector<ResultRow>& rows, const std::string& tag);

// One row per (model, benchmark, budget or deadline) over evaluations of disjoint question sets,
// e.g. synthetic suites generated with different seeds (ids tagged apart by tag_item_ids first).
// The score is the mean over all questions where per-question scores exist; otherwise (POPE F1,
// MME, MMBench) the answered-weighted mean of the evaluations' scores. Costs, families and
// deadline statistics are answered-weighted means, budget ranges the union.
std::vector<ResultRow> pool_rows(const std::vector<ResultRow>& rows);

// Writes results.md, results.csv, results.json and plot.svg into `dir`.
void write_results(const std::string& dir, const std::vector<ResultRow>& rows,
                   const std::string& x_axis);

}  // namespace adallava::eval
