#include "eval/scorers/pope.h"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/error.h"
#include "common/py_text.h"

namespace adallava::scorers {

bool pope_answer_is_yes(const std::string& text) {
  std::string first_sentence = text.substr(0, text.find('.'));
  first_sentence = py::replace_all(first_sentence, ",", "");
  for (const auto& word : py::split(first_sentence, " ")) {
    if (word == "No" || word == "not" || word == "no") return false;
  }
  return true;
}

PopeSplitMetrics score_pope_split(const std::vector<std::string>& answer_texts,
                                  const std::vector<std::string>& labels) {
  PopeSplitMetrics m;
  m.samples = answer_texts.size();
  size_t predicted_yes = 0;
  for (size_t i = 0; i < answer_texts.size(); ++i) {
    const bool pred_yes = pope_answer_is_yes(answer_texts[i]);
    predicted_yes += pred_yes;
    if (i >= labels.size()) continue;  // zip() stops at the shorter list
    const bool label_yes = labels[i] != "no";
    if (pred_yes && label_yes)
      ++m.tp;
    else if (pred_yes)
      ++m.fp;
    else if (!label_yes)
      ++m.tn;
    else
      ++m.fn;
  }
  m.yes_ratio = ratio(static_cast<double>(predicted_yes), static_cast<double>(answer_texts.size()));
  m.precision = ratio(m.tp, m.tp + m.fp);
  m.recall = ratio(m.tp, m.tp + m.fn);
  m.f1 = ratio(2 * m.precision * m.recall, m.precision + m.recall);
  m.accuracy = ratio(m.tp + m.tn, m.tp + m.tn + m.fp + m.fn);
  return m;
}

std::string PopeSplitMetrics::summary_line() const {
  return fmt::format("{}, {}, {}, {}, {}", py::fixed(f1, 3), py::fixed(accuracy, 3),
                     py::fixed(precision, 3), py::fixed(recall, 3), py::fixed(yes_ratio, 3));
}

MetricsJson PopeSplitMetrics::to_json() const {
  MetricsJson j;
  j["samples"] = samples;
  j["TP"] = tp;
  j["FP"] = fp;
  j["TN"] = tn;
  j["FN"] = fn;
  j["accuracy"] = number_or_null(accuracy);
  j["precision"] = number_or_null(precision);
  j["recall"] = number_or_null(recall);
  j["f1"] = number_or_null(f1);
  j["yes_ratio"] = number_or_null(yes_ratio);
  j["summary_line"] = summary_line();
  return j;
}

MetricsJson PopeMetrics::to_json() const {
  MetricsJson j;
  j["benchmark"] = "pope";
  MetricsJson splits_json = MetricsJson::object();
  for (const auto& [name, m] : splits) splits_json[name] = m.to_json();
  j["categories"] = std::move(splits_json);
  j["mean_f1"] = number_or_null(mean_f1);
  return j;
}

PopeMetrics score_pope(const std::vector<AnswerRecord>& answers,
                       const std::map<std::string, std::string>& question_category,
                       const std::map<std::string, std::vector<std::string>>& labels_by_split) {
  PopeMetrics result;
  std::vector<const std::string*> categories;
  for (const auto& a : answers) {
    auto found = question_category.find(id_key(a.question_id));
    if (found == question_category.end()) {
      fail("{}: question_id {} is not in the POPE question file", where(a.path, a.line),
           id_text(a.question_id));
    }
    categories.push_back(&found->second);
  }
  double f1_sum = 0;
  for (const auto& [split, labels] : labels_by_split) {
    std::vector<std::string> texts;
    for (size_t i = 0; i < answers.size(); ++i) {
      if (*categories[i] == split) texts.push_back(answers[i].text);
    }
    result.splits[split] = score_pope_split(texts, labels);
    f1_sum += result.splits[split].f1;
  }
  result.mean_f1 = ratio(f1_sum, static_cast<double>(labels_by_split.size()));
  return result;
}

std::map<std::string, std::string> read_pope_questions(const std::string& question_file) {
  std::map<std::string, std::string> out;
  for (const auto& rec : read_jsonl(question_file)) {
    const auto& v = rec.value;
    if (!v.is_object() || !v.contains("question_id") || !v.contains("category") ||
        !v["category"].is_string()) {
      fail("{}: POPE question needs \"question_id\" and a string \"category\"",
           where(question_file, rec.line));
    }
    out[id_key(v["question_id"])] = v["category"].get<std::string>();
  }
  return out;
}

std::vector<std::string> read_pope_labels(const std::string& label_file) {
  std::vector<std::string> labels;
  for (const auto& rec : read_jsonl(label_file)) {
    const auto& v = rec.value;
    if (!v.is_object() || !v.contains("label") || !v["label"].is_string()) {
      fail("{}: POPE label line needs a string \"label\"", where(label_file, rec.line));
    }
    labels.push_back(v["label"].get<std::string>());
  }
  return labels;
}

std::map<std::string, std::vector<std::string>> read_pope_label_dir(const std::string& label_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(label_dir, ec)) fail("{}: POPE label directory not found", label_dir);
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& entry : fs::directory_iterator(label_dir)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || !py::starts_with(name, "coco_pope_") ||
        !py::ends_with(name, ".json") || name.size() <= 15) {
      spdlog::warn("[scorers] {}: ignoring {} (not coco_pope_<split>.json)", label_dir, name);
      continue;
    }
    out[name.substr(10, name.size() - 15)] = read_pope_labels(entry.path().string());
  }
  if (out.empty()) fail("{}: no coco_pope_<split>.json label files", label_dir);
  return out;
}

PopeMetrics score_pope_files(const std::string& answers_path, const std::string& question_file,
                             const std::string& label_dir) {
  return score_pope(read_answers(answers_path), read_pope_questions(question_file),
                    read_pope_label_dir(label_dir));
}

}  // namespace adallava::scorers
