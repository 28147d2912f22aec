#include "eval/runner/scoring.h"

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/error.h"
#include "common/files.h"
#include "eval/scorers/benchmarks.h"
#include "eval/scorers/mme.h"
#include "eval/scorers/records.h"
#include "eval/scorers/vqa_accuracy.h"

namespace adallava::eval {
namespace {

std::optional<double> number_at(const nlohmann::ordered_json& j,
                                std::initializer_list<const char*> path) {
  const nlohmann::ordered_json* node = &j;
  for (const char* key : path) {
    if (!node->is_object() || !node->contains(key)) return std::nullopt;
    node = &(*node)[key];
  }
  if (!node->is_number()) return std::nullopt;
  return node->get<double>();
}

// calculation.py needs all 14 MME subtasks; a subset (the synthetic suite has 5) is scored with
// the same per-subtask code and the totals summed over the subtasks that have answers.
std::optional<scorers::ScoreResult> score_mme_subset(const EvalConfig& c,
                                                     const std::string& answers_path) {
  std::string release = join_path(c.resolve(c.annotations), "MME_Benchmark_release_version");
  if (!dir_exists(release)) release = c.resolve(c.annotations);
  if (!dir_exists(release)) return std::nullopt;  // let score_benchmark report it
  auto files = scorers::convert_answers_to_mme(scorers::read_answers(answers_path),
                                               scorers::read_mme_ground_truth(release));
  std::vector<std::string> present;
  for (const auto* group : {&scorers::mme_perception_tasks(), &scorers::mme_cognition_tasks()})
    for (const auto& task : *group)
      if (files.count(task)) present.push_back(task);
  if (present.size() == 14) return std::nullopt;
  for (const auto* group : {&scorers::mme_perception_tasks(), &scorers::mme_cognition_tasks()})
    for (const auto& task : *group) files.emplace(task, "");
  auto m = scorers::score_mme_results(files);
  m.perception_total = m.cognition_total = 0;
  for (const auto& task : present) {
    const bool perception = std::count(scorers::mme_perception_tasks().begin(),
                                       scorers::mme_perception_tasks().end(), task) > 0;
    (perception ? m.perception_total : m.cognition_total) += m.tasks.at(task).score;
  }
  scorers::ScoreResult r;
  r.metrics = m.to_json();
  r.metrics["subtasks_scored"] = present;
  for (auto& [task, v] : r.metrics["tasks"].items())
    if (std::find(present.begin(), present.end(), task) == present.end()) v = nullptr;
  r.report =
      fmt::format("MME subset ({} of 14 subtasks; totals over these only)\n", present.size()) +
      m.report();
  return r;
}

}  // namespace

VqaLocalAccuracy vqav2_local_accuracy(const std::string& answers_path,
                                      const std::string& annotations_path,
                                      const std::string& questions_path) {
  const auto annotations = read_json_file(annotations_path);
  if (!annotations.is_object() || !annotations.contains("annotations") ||
      !annotations["annotations"].is_array())
    fail("{}: expected {{\"annotations\": [...]}} (official VQA annotation format)",
         annotations_path);
  std::map<std::string, std::vector<std::string>> gt;
  for (const auto& a : annotations["annotations"]) {
    if (!a.contains("question_id") || !a.contains("answers") || !a["answers"].is_array())
      fail("{}: annotation without question_id/answers", annotations_path);
    std::vector<std::string> answers;
    for (const auto& x : a["answers"]) answers.push_back(x.value("answer", std::string()));
    gt[scorers::id_key(a["question_id"])] = std::move(answers);
  }
  std::map<std::string, std::string> family;
  if (!questions_path.empty() && file_exists(questions_path)) {
    for (const auto& line : scorers::read_jsonl(questions_path)) {
      if (line.value.contains("category") && line.value["category"].is_string())
        family[scorers::id_key(line.value["question_id"])] = line.value["category"];
    }
  }
  std::vector<scorers::VqaItem> items;
  std::vector<std::string> item_family, item_id;
  for (const auto& r : scorers::read_answers(answers_path)) {
    const auto it = gt.find(scorers::id_key(r.question_id));
    if (it == gt.end())
      fail("{}: question {} has no annotation in {}", scorers::where(r.path, r.line),
           scorers::id_text(r.question_id), annotations_path);
    items.push_back({r.text, it->second});
    item_id.push_back(scorers::id_key(r.question_id));
    const auto f = family.find(scorers::id_key(r.question_id));
    item_family.push_back(f == family.end() ? "" : f->second);
  }
  const auto scored = scorers::score_vqa_accuracy(items);
  VqaLocalAccuracy out;
  out.samples = scored.samples;
  out.accuracy = 100.0 * scored.accuracy;
  std::map<std::string, std::pair<double, size_t>> sums;
  for (size_t i = 0; i < scored.items.size(); ++i) {
    out.item_scores[item_id[i]] = 100.0 * scored.items[i].score;
    if (item_family[i].empty()) continue;
    sums[item_family[i]].first += scored.items[i].score;
    sums[item_family[i]].second += 1;
  }
  for (const auto& [name, s] : sums) out.per_family[name] = 100.0 * s.first / s.second;
  return out;
}

BenchmarkScore score_answers(const EvalConfig& c, const std::string& answers_path) {
  scorers::ScoreRequest request;
  request.benchmark = c.benchmark;
  request.answers = answers_path;
  request.annotations = c.resolve(c.annotations);
  request.questions = c.resolve(c.score_questions);
  std::optional<scorers::ScoreResult> subset;
  if (c.benchmark == "mme") subset = score_mme_subset(c, answers_path);
  const auto result = subset ? *subset : scorers::score_benchmark(request);
  BenchmarkScore s;
  s.metrics = result.metrics;
  s.report = result.report;
  s.submission = result.submission;
  for (const auto& [id, score] : result.item_scores) s.item_scores[id] = 100.0 * score;
  const auto& m = s.metrics;
  if (c.benchmark == "vqav2") {
    s.metric = "vqa_accuracy";
    const std::string annotations = c.resolve(c.vqa_annotations);
    if (!annotations.empty() && !file_exists(annotations)) {
      spdlog::warn(
          "[eval] vqav2: {} not found: no local VQA accuracy (test-dev is scored by "
          "EvalAI; submission.json is written)",
          annotations);
    } else if (!annotations.empty()) {
      const auto local = vqav2_local_accuracy(answers_path, annotations, c.resolve(c.questions));
      s.value = local.accuracy;
      s.per_family = local.per_family;
      s.item_scores = local.item_scores;
      s.metrics["local_vqa_accuracy"] = local.accuracy;
      s.metrics["local_vqa_samples"] = local.samples;
    }
  } else if (c.benchmark == "gqa") {
    s.metric = "accuracy";
    s.value = number_at(m, {"accuracy"});
  } else if (c.benchmark == "textvqa") {
    s.metric = "accuracy";
    s.value = number_at(m, {"accuracy_percent"});
  } else if (c.benchmark == "scienceqa") {
    s.metric = "img_accuracy";
    s.value = number_at(m, {"img_accuracy"});
  } else if (c.benchmark == "pope") {
    s.metric = "f1";
    if (auto f1 = number_at(m, {"mean_f1"})) s.value = 100.0 * *f1;
    if (m.contains("categories")) {
      for (const auto& [split, v] : m["categories"].items()) {
        if (auto acc = number_at(v, {"accuracy"})) s.per_family["pope/" + split] = 100.0 * *acc;
      }
    }
  } else if (c.benchmark == "mme") {
    s.metric = "perception";
    s.value = number_at(m, {"perception_total"});
    if (m.contains("tasks")) {
      for (const auto& [task, v] : m["tasks"].items()) {
        if (auto acc = number_at(v, {"acc"})) s.per_family["mme/" + task] = 100.0 * *acc;
      }
    }
  } else if (c.benchmark == "mmbench") {
    s.metric = "circular_accuracy";
    s.value = number_at(m, {"circular", "accuracy"});
    if (m.contains("per_category")) {
      for (const auto& [cat, v] : m["per_category"].items()) {
        if (auto acc = number_at(v, {"accuracy"})) s.per_family["mmbench/" + cat] = *acc;
      }
    }
  }
  return s;
}

}  // namespace adallava::eval
