#include "eval/scorers/benchmarks.h"

#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/error.h"
#include "common/files.h"
#include "common/py_text.h"
#include "eval/scorers/gqa.h"
#include "eval/scorers/mmbench.h"
#include "eval/scorers/mme.h"
#include "eval/scorers/pope.h"
#include "eval/scorers/scienceqa.h"
#include "eval/scorers/textvqa.h"
#include "eval/scorers/vqav2.h"

namespace adallava::scorers {
namespace {

namespace fs = std::filesystem;

void require_annotations(const ScoreRequest& r, const char* what) {
  if (r.annotations.empty()) fail("{}: --annotations is required ({})", r.benchmark, what);
  if (!file_exists(r.annotations) && !dir_exists(r.annotations)) {
    fail("{}: annotations not found: {}", r.benchmark, r.annotations);
  }
}

// A file given directly, or the first of `candidates` inside a directory.
std::string file_in(const ScoreRequest& r, const std::vector<std::string>& candidates) {
  if (file_exists(r.annotations)) return r.annotations;
  for (const auto& name : candidates) {
    const std::string path = join_path(r.annotations, name);
    if (file_exists(path)) return path;
  }
  fail("{}: {} contains none of: {}", r.benchmark, r.annotations, fmt::join(candidates, ", "));
}

bool has_pope_labels(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return false;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (py::starts_with(e.path().filename().string(), "coco_pope_")) return true;
  }
  return false;
}

ScoreResult score_vqav2(const ScoreRequest& r) {
  require_annotations(r, "the test split llava_vqav2_mscoco_test2015.jsonl");
  const auto sub =
      convert_vqav2_files(r.answers, file_in(r, {"llava_vqav2_mscoco_test2015.jsonl"}));
  return {sub.to_json(), sub.summary_line() + "\n", sub.upload_text(), {}};
}

ScoreResult score_textvqa_request(const ScoreRequest& r) {
  require_annotations(r, "TextVQA_0.5.1_val.json");
  const auto m = score_textvqa_files(r.answers, file_in(r, {"TextVQA_0.5.1_val.json"}));
  const std::string report = fmt::format("Samples: {}\nAccuracy: {}%\n", m.vqa.samples,
                                         py::fixed(100.0 * m.vqa.accuracy, 2));
  std::map<std::string, double> item_scores;
  for (size_t i = 0; i < m.vqa.items.size(); ++i)
    item_scores[m.question_ids[i]] = m.vqa.items[i].score;
  return {m.to_json(r.with_items), report, "", std::move(item_scores)};
}

ScoreResult score_gqa_request(const ScoreRequest& r) {
  require_annotations(r, "testdev_balanced_questions.json");
  const std::string questions =
      file_in(r, {"testdev_balanced_questions.json", "data/testdev_balanced_questions.json"});
  // eval.py loads {tier}_choices.json beside the questions when it exists.
  std::string choices;
  const std::string name = fs::path(questions).filename().string();
  if (py::ends_with(name, "_questions.json")) {
    const std::string candidate =
        join_path(parent_dir(questions), name.substr(0, name.size() - 15) + "_choices.json");
    if (file_exists(candidate)) choices = candidate;
  }
  const auto m = score_gqa_files(r.answers, questions, choices);
  return {m.to_json(), m.report(), "", m.item_scores};
}

ScoreResult score_scienceqa_request(const ScoreRequest& r) {
  require_annotations(r, "the folder with problems.json and pid_splits.json");
  const std::string base = dir_exists(r.annotations) ? r.annotations : parent_dir(r.annotations);
  const auto m = score_scienceqa_files(r.answers, base);
  return {m.to_json(r.with_items), m.report() + "\n", "", m.img_item_scores};
}

ScoreResult score_pope_request(const ScoreRequest& r) {
  require_annotations(r, "the folder with coco_pope_<split>.json (or its parent)");
  std::string label_dir = r.annotations;
  if (!has_pope_labels(label_dir)) label_dir = join_path(r.annotations, "coco");
  if (!has_pope_labels(label_dir)) {
    fail("pope: no coco_pope_<split>.json in {} or {}/coco", r.annotations, r.annotations);
  }
  std::string questions = r.questions;
  if (questions.empty()) {
    for (const auto& dir : {r.annotations, parent_dir(label_dir)}) {
      if (file_exists(join_path(dir, "llava_pope_test.jsonl"))) {
        questions = join_path(dir, "llava_pope_test.jsonl");
        break;
      }
    }
    if (questions.empty()) fail("pope: llava_pope_test.jsonl not found; pass --questions");
  }
  const auto m = score_pope_files(r.answers, questions, label_dir);
  std::string report;
  for (const auto& [split, s] : m.splits) {
    report += fmt::format("Category: {}, # samples: {}\n", split, s.samples);
    report += fmt::format("TP\tFP\tTN\tFN\t\n{}\t{}\t{}\t{}\n", s.tp, s.fp, s.tn, s.fn);
    report += fmt::format("Accuracy: {}\nPrecision: {}\nRecall: {}\nF1 score: {}\nYes ratio: {}\n",
                          py::repr(s.accuracy), py::repr(s.precision), py::repr(s.recall),
                          py::repr(s.f1), py::repr(s.yes_ratio));
    report += s.summary_line() + "\n====================================\n";
  }
  report += fmt::format("Mean F1 over splits: {}\n", py::fixed(100 * m.mean_f1, 2));
  return {m.to_json(), report, "", {}};
}

ScoreResult score_mme_request(const ScoreRequest& r) {
  if (dir_exists(r.answers)) {  // already converted: eval_tool/answers/<model>/
    const auto m = score_mme_results_dir(r.answers);
    return {m.to_json(), m.report(), "", {}};
  }
  require_annotations(r, "MME_Benchmark_release_version or its parent folder");
  std::string release = join_path(r.annotations, "MME_Benchmark_release_version");
  if (!dir_exists(release)) release = r.annotations;
  const auto m = score_mme_files(r.answers, release);
  return {m.to_json(), m.report(), "", {}};
}

ScoreResult score_mmbench_request(const ScoreRequest& r) {
  require_annotations(r, "the MMBench .tsv question file");
  if (!file_exists(r.annotations)) fail("mmbench: --annotations must be the .tsv file");
  const auto m = score_mmbench_files(r.answers, r.annotations);
  std::string report =
      fmt::format("CircularEval accuracy: {}% ({}/{})\n", py::fixed(m.circular.accuracy, 2),
                  m.circular.correct, m.circular.total);
  report +=
      fmt::format("Per-answer accuracy: {}% ({}/{}), unparsed answers: {}, unanswered rows: {}\n",
                  py::fixed(m.per_answer.accuracy, 2), m.per_answer.correct, m.per_answer.total,
                  m.unparsed, m.unanswered_rows);
  return {m.to_json(), report, "", {}};
}

}  // namespace

const std::vector<std::string>& known_benchmarks() {
  static const std::vector<std::string> names = {"vqav2", "gqa", "textvqa", "scienceqa",
                                                 "pope",  "mme", "mmbench"};
  return names;
}

ScoreResult score_benchmark(const ScoreRequest& r) {
  if (r.answers.empty()) fail("{}: --answers is required", r.benchmark);
  if (!file_exists(r.answers) && !(r.benchmark == "mme" && dir_exists(r.answers))) {
    fail("{}: answers file not found", r.answers);
  }
  if (r.benchmark == "vqav2") return score_vqav2(r);
  if (r.benchmark == "gqa") return score_gqa_request(r);
  if (r.benchmark == "textvqa") return score_textvqa_request(r);
  if (r.benchmark == "scienceqa") return score_scienceqa_request(r);
  if (r.benchmark == "pope") return score_pope_request(r);
  if (r.benchmark == "mme") return score_mme_request(r);
  if (r.benchmark == "mmbench") return score_mmbench_request(r);
  fail("unknown benchmark \"{}\"; known benchmarks: {}", r.benchmark,
       fmt::join(known_benchmarks(), ", "));
}

}  // namespace adallava::scorers
