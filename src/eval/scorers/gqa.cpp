#include "eval/scorers/gqa.h"

#include <unordered_map>

#include <fmt/format.h>

#include "common/error.h"
#include "common/files.h"
#include "common/py_text.h"

namespace adallava::scorers {
namespace {

// An insertion-ordered counter: eval.py sums the chi-square terms in dict insertion order and
// the float result depends on that order.
struct OrderedCounts {
  std::vector<std::pair<std::string, int>> entries;
  std::unordered_map<std::string, size_t> index;
  void add(const std::string& key) {
    auto [it, inserted] = index.emplace(key, entries.size());
    if (inserted) entries.emplace_back(key, 0);
    ++entries[it->second].second;
  }
  int get(const std::string& key) const {
    auto it = index.find(key);
    return it == index.end() ? 0 : entries[it->second].second;
  }
};

struct OrderedGroups {
  std::vector<std::pair<std::string, OrderedCounts>> groups;
  std::unordered_map<std::string, size_t> index;
  OrderedCounts& at(const std::string& group) {
    auto [it, inserted] = index.emplace(group, groups.size());
    if (inserted) groups.emplace_back(group, OrderedCounts{});
    return groups[it->second].second;
  }
  const OrderedCounts* find(const std::string& group) const {
    auto it = index.find(group);
    return it == index.end() ? nullptr : &groups[it->second].second;
  }
};

double chi_square(const OrderedGroups& gold, const OrderedGroups& predicted) {
  double sum_score = 0;
  long long sum_overall = 0;
  for (const auto& [group, gold_counts] : gold.groups) {
    double score = 0;
    long long overall = 0;
    const OrderedCounts* pred_counts = predicted.find(group);
    for (const auto& [answer, e] : gold_counts.entries) {
      const int o = pred_counts ? pred_counts->get(answer) : 0;
      const double diff = static_cast<double>(o - e);
      score += diff * diff / e;
      overall += e;
    }
    sum_score += score * static_cast<double>(overall);
    sum_overall += overall;
  }
  return ratio(sum_score, static_cast<double>(sum_overall));
}

// Python str.format of a JSON scalar, as "{}: {}".format(operation, argument) renders it.
std::string python_str(const nlohmann::ordered_json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "None";
  if (v.is_boolean()) return v.get<bool>() ? "True" : "False";
  return v.dump();
}

int steps_number(const nlohmann::ordered_json& semantic) {
  int steps = 0;
  for (const auto& op : semantic) {
    const std::string text = python_str(op.value("operation", nlohmann::ordered_json())) + ": " +
                             python_str(op.value("argument", nlohmann::ordered_json()));
    const bool final_query = py::contains(text, "exist") || py::contains(text, "query: name") ||
                             py::contains(text, "choose name");
    if (!final_query) ++steps;
  }
  return steps;
}

bool belongs(const std::string& element, const nlohmann::json& group,
             const nlohmann::ordered_json& question) {
  const auto& detailed = question["types"]["detailed"];
  if (detailed.is_string() && py::contains(detailed.get<std::string>(), "Common")) {
    return element == "color" || element == "material" || element == "shape";
  }
  if (!group.is_array()) return false;
  for (const auto& g : group) {
    if (g.is_string() && g.get<std::string>() == element) return true;
  }
  return false;
}

double mean_percent(const std::vector<double>& values) {
  if (values.empty()) return 0;
  double sum = 0;
  for (double v : values) sum += v;
  return sum / static_cast<double>(values.size()) * 100;
}

template <typename Key>
std::map<Key, GqaBucket> buckets(const std::map<Key, std::vector<double>>& lists) {
  std::map<Key, GqaBucket> out;
  for (const auto& [key, values] : lists) out[key] = {mean_percent(values), values.size()};
  return out;
}

}  // namespace

std::string gqa_prediction_from_text(const std::string& text) {
  return py::lower(py::rstrip_chars(text, "."));
}

std::vector<std::pair<nlohmann::json, std::string>> convert_gqa_predictions(
    const std::vector<AnswerRecord>& answers) {
  std::vector<std::pair<nlohmann::json, std::string>> out;
  for (const auto& a : answers) out.emplace_back(a.question_id, gqa_prediction_from_text(a.text));
  return out;
}

GqaMetrics score_gqa(const nlohmann::ordered_json& questions,
                     const std::vector<std::pair<nlohmann::json, std::string>>& predictions,
                     const nlohmann::json& choices, const std::string& questions_path) {
  if (!questions.is_object()) fail("{}: expected an object keyed by question id", questions_path);
  std::unordered_map<std::string, std::string> predicted_by_id;
  for (const auto& [id, prediction] : predictions) predicted_by_id[id_key(id)] = prediction;

  std::vector<double> accuracy, binary, open, validity, plausibility;
  std::map<std::string, std::vector<double>> structural, semantic;
  std::map<int, std::vector<double>> length, steps;
  OrderedGroups gold_dist, predicted_dist;
  std::map<std::string, double> item_scores;

  for (auto it = questions.begin(); it != questions.end(); ++it) {
    const std::string& qid = it.key();
    const auto& q = it.value();
    auto bad = [&](const char* what) { fail("{}: question {}: {}", questions_path, qid, what); };
    if (!q.is_object() || !q.contains("isBalanced")) bad("missing \"isBalanced\"");
    if (!q["isBalanced"].is_boolean()) bad("\"isBalanced\" is not a boolean");
    const bool balanced = q["isBalanced"].get<bool>();
    auto found = predicted_by_id.find(nlohmann::json(qid).dump());
    if (found == predicted_by_id.end()) {
      if (balanced)
        fail("{}: no prediction for question {} (every balanced question needs one)",
             questions_path, qid);
      continue;
    }
    if (!balanced) continue;
    if (!q.contains("answer") || !q["answer"].is_string()) bad("missing \"answer\"");
    if (!q.contains("question") || !q["question"].is_string()) bad("missing \"question\"");
    if (!q.contains("types") || !q["types"].is_object() || !q["types"].contains("structural") ||
        !q["types"]["structural"].is_string() || !q["types"].contains("semantic") ||
        !q["types"]["semantic"].is_string()) {
      bad("missing \"types.structural\"/\"types.semantic\"");
    }
    if (!q.contains("semantic") || !q["semantic"].is_array()) bad("missing \"semantic\" program");
    if (!q.contains("groups") || !q["groups"].is_object()) bad("missing \"groups\"");

    const std::string gold = q["answer"].get<std::string>();
    const std::string& predicted = found->second;
    const double score = predicted == gold ? 1.0 : 0.0;
    const std::string structural_type = q["types"]["structural"].get<std::string>();

    accuracy.push_back(score);
    item_scores[qid] = score;
    length[static_cast<int>(py::split_whitespace(q["question"].get<std::string>()).size())]
        .push_back(score);
    steps[steps_number(q["semantic"])].push_back(score);
    structural[structural_type].push_back(score);
    semantic[q["types"]["semantic"].get<std::string>()].push_back(score);
    (structural_type == "query" ? open : binary).push_back(score);

    bool valid = false, plausible = false;
    if (!choices.is_null()) {
      if (!choices.contains(qid)) fail("choices file has no entry for question {}", qid);
      valid = belongs(predicted, choices[qid].value("valid", nlohmann::json()), q);
      plausible = belongs(predicted, choices[qid].value("plausible", nlohmann::json()), q);
    }
    validity.push_back(valid ? 1.0 : 0.0);
    plausibility.push_back(plausible ? 1.0 : 0.0);

    const auto& global_group = q["groups"].value("global", nlohmann::ordered_json());
    if (!global_group.is_null()) {
      const std::string group = python_str(global_group);
      gold_dist.at(group).add(gold);
      predicted_dist.at(group).add(predicted);
    }
  }

  GqaMetrics m;
  m.balanced_questions = accuracy.size();
  m.distribution = chi_square(gold_dist, predicted_dist) / 100;
  m.binary = mean_percent(binary);
  m.open = mean_percent(open);
  m.accuracy = mean_percent(accuracy);
  m.validity = mean_percent(validity);
  m.plausibility = mean_percent(plausibility);
  m.per_structural_type = buckets(structural);
  m.per_semantic_type = buckets(semantic);
  m.per_length = buckets(length);
  m.per_steps = buckets(steps);
  m.item_scores = std::move(item_scores);
  return m;
}

namespace {

template <typename Key>
MetricsJson buckets_json(const std::map<Key, GqaBucket>& buckets) {
  MetricsJson j = MetricsJson::object();
  for (const auto& [key, b] : buckets) {
    j[fmt::format("{}", key)] = {{"score", b.score}, {"count", b.count}};
  }
  return j;
}

template <typename Key>
void report_buckets(std::string& out, const char* title, const std::map<Key, GqaBucket>& buckets) {
  out += fmt::format("\n{}:\n", title);
  for (const auto& [key, b] : buckets) {
    out += fmt::format("  {}: {}% ({} questions)\n", key, py::fixed(b.score, 2), b.count);
  }
}

}  // namespace

MetricsJson GqaMetrics::to_json() const {
  MetricsJson j;
  j["benchmark"] = "gqa";
  j["balanced_questions"] = balanced_questions;
  j["accuracy"] = accuracy;
  j["binary"] = binary;
  j["open"] = open;
  j["validity"] = validity;
  j["plausibility"] = plausibility;
  j["consistency"] = consistency;
  j["grounding"] = grounding;
  j["distribution"] = number_or_null(distribution);
  j["accuracyPerStructuralType"] = buckets_json(per_structural_type);
  j["accuracyPerSemanticType"] = buckets_json(per_semantic_type);
  j["accuracyPerSteps"] = buckets_json(per_steps);
  j["accuracyPerLength"] = buckets_json(per_length);
  return j;
}

std::string GqaMetrics::report() const {
  std::string out;
  out += fmt::format("Binary: {}%\n", py::fixed(binary, 2));
  out += fmt::format("Open: {}%\n", py::fixed(open, 2));
  out += fmt::format("Accuracy: {}%\n", py::fixed(accuracy, 2));
  out += fmt::format("Validity: {}%\n", py::fixed(validity, 2));
  out += fmt::format("Plausibility: {}%\n", py::fixed(plausibility, 2));
  out += fmt::format("Distribution: {} (lower is better)\n", py::fixed(distribution, 2));
  report_buckets(out, "Accuracy / structural type", per_structural_type);
  report_buckets(out, "Accuracy / semantic type", per_semantic_type);
  report_buckets(out, "Accuracy / steps number", per_steps);
  report_buckets(out, "Accuracy / words number", per_length);
  return out;
}

GqaMetrics score_gqa_files(const std::string& answers_path, const std::string& questions_path,
                           const std::string& choices_path) {
  const nlohmann::json choices =
      choices_path.empty() ? nlohmann::json() : read_json_file(choices_path);
  return score_gqa(read_json_ordered(questions_path),
                   convert_gqa_predictions(read_answers(answers_path)), choices, questions_path);
}

}  // namespace adallava::scorers
