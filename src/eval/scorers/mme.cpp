#include "eval/scorers/mme.h"

#include <filesystem>

#include <fmt/format.h>

#include "common/error.h"
#include "common/files.h"
#include "common/py_text.h"

namespace adallava::scorers {

namespace fs = std::filesystem;

const std::vector<std::string>& mme_perception_tasks() {
  static const std::vector<std::string> tasks = {"existence", "count",     "position", "color",
                                                 "posters",   "celebrity", "scene",    "landmark",
                                                 "artwork",   "OCR"};
  return tasks;
}

const std::vector<std::string>& mme_cognition_tasks() {
  static const std::vector<std::string> tasks = {"commonsense_reasoning", "numerical_calculation",
                                                 "text_translation", "code_reasoning"};
  return tasks;
}

std::string mme_parse_prediction(const std::string& lowered_prediction) {
  if (lowered_prediction == "yes" || lowered_prediction == "no") return lowered_prediction;
  const std::u32string prefix = py::decode(lowered_prediction).substr(0, 4);
  const std::string head = py::encode(prefix);
  if (py::contains(head, "yes")) return "yes";
  if (py::contains(head, "no")) return "no";
  return "other";
}

MmeGroundTruth read_mme_ground_truth(const std::string& release_dir) {
  std::error_code ec;
  if (!fs::is_directory(release_dir, ec)) fail("{}: MME release directory not found", release_dir);
  MmeGroundTruth gt;
  for (const auto& category_entry : fs::directory_iterator(release_dir)) {
    if (!category_entry.is_directory()) continue;
    const std::string category = category_entry.path().filename().string();
    // Subtasks with an images/ folder keep their question files in questions_answers_YN/.
    fs::path qa_dir = category_entry.path() / "questions_answers_YN";
    if (!fs::is_directory(qa_dir, ec)) qa_dir = category_entry.path();
    for (const auto& file_entry : fs::directory_iterator(qa_dir)) {
      const std::string file = file_entry.path().filename().string();
      if (!file_entry.is_regular_file() || !py::ends_with(file, ".txt")) continue;
      const std::string path = file_entry.path().string();
      size_t number = 0;
      for (const auto& line : py::readlines(read_text_file(path))) {
        ++number;
        const auto fields = py::split(py::strip(line), "\t");
        if (fields.size() != 2) {
          fail("{}: expected \"question<TAB>answer\", found {} tab-separated fields",
               where(path, number), fields.size());
        }
        gt[{category, file, fields[0]}] = fields[1];
      }
    }
  }
  return gt;
}

std::map<std::string, std::string> convert_answers_to_mme(const std::vector<AnswerRecord>& answers,
                                                          const MmeGroundTruth& ground_truth) {
  static const std::string kShortAnswer = "Answer the question using a single word or phrase.";
  static const std::string kYesNo = " Please answer yes or no.";
  std::map<std::string, std::string> files;
  for (const auto& a : answers) {
    if (!a.question_id.is_string()) {
      fail("{}: MME question_id must be a string like \"<subtask>/<image>\"",
           where(a.path, a.line));
    }
    if (!a.has_prompt) fail("{}: MME answers need a \"prompt\"", where(a.path, a.line));
    const std::string id = a.question_id.get<std::string>();
    const std::string category = py::split(id, "/").front();
    const std::string file = py::split(py::split(id, "/").back(), ".").front() + ".txt";
    std::string prompt = a.prompt;
    if (py::contains(prompt, kShortAnswer))
      prompt = py::strip(py::replace_all(prompt, kShortAnswer, ""));
    if (!py::contains(prompt, "Please answer yes or no.")) {
      prompt += kYesNo;
      // Some MME questions have two spaces before the instruction.
      if (!ground_truth.count({category, file, prompt})) {
        prompt = py::replace_all(prompt, kYesNo, "  Please answer yes or no.");
      }
    }
    auto gt = ground_truth.find({category, file, prompt});
    if (gt == ground_truth.end()) {
      fail("{}: no MME ground truth for {}/{} question \"{}\"", where(a.path, a.line), category,
           file, prompt);
    }
    files[category] += file + "\t" + prompt + "\t" + gt->second + "\t" + a.text + "\n";
  }
  return files;
}

namespace {

MmeTaskMetrics score_task(const std::string& task, const std::string& contents) {
  const std::vector<std::string> lines = py::readlines(contents);
  if (lines.size() % 2 != 0) {
    fail(
        "MME {}: {} lines, but questions come in pairs per image (an answer containing a "
        "newline breaks the file format)",
        task, lines.size());
  }
  MmeTaskMetrics m;
  int correct = 0, images_all_correct = 0;
  for (size_t i = 0; i < lines.size(); i += 2) {
    int image_correct = 0;
    for (size_t k = i; k < i + 2; ++k) {
      const auto fields = py::split(lines[k], "\t");
      if (fields.size() != 4) {
        fail("MME {} line {}: expected 4 tab-separated fields, found {}", task, k + 1,
             fields.size());
      }
      const std::string gt = py::lower(fields[2]);
      if (gt != "yes" && gt != "no") {
        fail("MME {} line {}: ground truth must be yes or no, found \"{}\"", task, k + 1,
             fields[2]);
      }
      const std::string pred = mme_parse_prediction(py::lower(fields[3]));
      if (pred == gt) {
        ++image_correct;
        ++correct;
      }
      if (pred == "other") {
        ++m.other_num;
      } else if (gt == "yes") {
        (pred == "yes" ? m.tp : m.fn)++;
      } else {
        (pred == "yes" ? m.fp : m.tn)++;
      }
    }
    images_all_correct += image_correct == 2;
  }
  const double questions = static_cast<double>(lines.size());
  const double images = static_cast<double>(lines.size() / 2);
  m.acc = ratio(correct, questions);
  m.acc_plus = ratio(images_all_correct, images);
  m.precision = m.tp + m.fp == 0 ? 0.0 : static_cast<double>(m.tp) / (m.tp + m.fp);
  m.recall = m.tp + m.fn == 0 ? 0.0 : static_cast<double>(m.tp) / (m.tp + m.fn);
  m.score = m.acc * 100 + m.acc_plus * 100;
  return m;
}

}  // namespace

MmeMetrics score_mme_results(const std::map<std::string, std::string>& task_files) {
  MmeMetrics result;
  for (const auto* group : {&mme_perception_tasks(), &mme_cognition_tasks()}) {
    double total = 0;
    for (const auto& task : *group) {
      auto file = task_files.find(task);
      if (file == task_files.end()) fail("MME: no answers for subtask {}", task);
      result.tasks[task] = score_task(task, file->second);
      total += result.tasks[task].score;
    }
    (group == &mme_perception_tasks() ? result.perception_total : result.cognition_total) = total;
  }
  return result;
}

MetricsJson MmeTaskMetrics::to_json() const {
  MetricsJson j;
  j["TP"] = tp;
  j["FN"] = fn;
  j["TN"] = tn;
  j["FP"] = fp;
  j["precision"] = precision;
  j["recall"] = recall;
  j["other_num"] = other_num;
  j["acc"] = number_or_null(acc);
  j["acc_plus"] = number_or_null(acc_plus);
  j["score"] = number_or_null(score);
  return j;
}

MetricsJson MmeMetrics::to_json() const {
  MetricsJson j;
  j["benchmark"] = "mme";
  j["perception_total"] = perception_total;
  j["cognition_total"] = cognition_total;
  MetricsJson tasks_json = MetricsJson::object();
  for (const auto* group : {&mme_perception_tasks(), &mme_cognition_tasks()}) {
    for (const auto& task : *group) tasks_json[task] = tasks.at(task).to_json();
  }
  j["tasks"] = std::move(tasks_json);
  return j;
}

std::string MmeMetrics::report() const {
  std::string out;
  auto section = [&](const char* title, const std::vector<std::string>& group, double total) {
    out += fmt::format("=========== {} ===========\ntotal score: {} \n\n", title, py::repr(total));
    for (const auto& task : group)
      out += fmt::format("\t {}  score: {}\n", task, py::repr(tasks.at(task).score));
    out += "\n\n";
  };
  section("Perception", mme_perception_tasks(), perception_total);
  section("Cognition", mme_cognition_tasks(), cognition_total);
  return out;
}

MmeMetrics score_mme(const std::vector<AnswerRecord>& answers, const MmeGroundTruth& ground_truth) {
  return score_mme_results(convert_answers_to_mme(answers, ground_truth));
}

MmeMetrics score_mme_files(const std::string& answers_path, const std::string& release_dir) {
  return score_mme(read_answers(answers_path), read_mme_ground_truth(release_dir));
}

MmeMetrics score_mme_results_dir(const std::string& results_dir) {
  std::map<std::string, std::string> files;
  for (const auto* group : {&mme_perception_tasks(), &mme_cognition_tasks()}) {
    for (const auto& task : *group) {
      const std::string path = join_path(results_dir, task + ".txt");
      if (!file_exists(path)) fail("{}: missing MME results file", path);
      files[task] = read_text_file(path);
    }
  }
  return score_mme_results(files);
}

}  // namespace adallava::scorers
