#include "eval/scorers/textvqa.h"

#include <unordered_map>

#include "common/error.h"
#include "common/files.h"
#include "common/py_text.h"

namespace adallava::scorers {

std::string textvqa_question_from_prompt(const std::string& prompt) {
  const std::vector<std::string> lines = py::split(prompt, "\n");
  const bool has_ocr_line = py::contains(prompt, "Reference OCR token: ");
  std::string question;
  if (py::starts_with(prompt, "OCR tokens: ")) {
    // re.search(r"Question: (.*?) Short answer:", prompt, re.DOTALL)
    const size_t start = prompt.find("Question: ");
    const size_t end =
        start == std::string::npos ? start : prompt.find(" Short answer:", start + 10);
    if (end == std::string::npos) {
      fail(
          "TextVQA prompt starts with \"OCR tokens: \" but has no \"Question: ... Short "
          "answer:\" part");
    }
    question = prompt.substr(start + 10, end - start - 10);
  } else if (has_ocr_line && lines.size() == 3) {
    question = py::starts_with(prompt, "Reference OCR token:") ? lines[1] : lines[0];
  } else if (has_ocr_line && lines.size() == 2) {
    question = py::replace_all(lines[1], "Question: ", "");
  } else if (lines.size() == 2) {
    question = lines[0];
  } else {
    fail("TextVQA prompt has an unsupported shape ({} lines): the question cannot be recovered",
         lines.size());
  }
  if (py::starts_with(question, "Question: "))
    question = py::replace_all(question, "Question: ", "");
  return py::lower(question);
}

MetricsJson TextVqaMetrics::to_json(bool with_items) const {
  MetricsJson j;
  j["benchmark"] = "textvqa";
  j["samples"] = vqa.samples;
  j["accuracy"] = number_or_null(vqa.accuracy);
  j["accuracy_percent"] = number_or_null(100.0 * vqa.accuracy);
  if (with_items) {
    MetricsJson items = MetricsJson::array();
    for (size_t i = 0; i < vqa.items.size(); ++i) {
      MetricsJson scores = MetricsJson::object();
      for (const auto& [answer, score] : vqa.items[i].answer_scores.scores) scores[answer] = score;
      items.push_back({{"question_id", question_ids[i]},
                       {"prompt_question", questions[i]},
                       {"pred_answer", pred_answers[i]},
                       {"pred_processed", vqa.items[i].pred_processed},
                       {"gt_processed", vqa.items[i].gt_processed},
                       {"unique_answer_scores", scores},
                       {"score", vqa.items[i].score}});
    }
    j["items"] = std::move(items);
  }
  return j;
}

TextVqaMetrics score_textvqa(const std::vector<AnswerRecord>& answers,
                             const std::vector<TextVqaAnnotation>& annotations) {
  // Later duplicates replace earlier ones, as in upstream's dict comprehension.
  std::unordered_map<std::string, const TextVqaAnnotation*> by_key;
  for (const auto& a : annotations) by_key[id_key(a.image_id) + "\n" + py::lower(a.question)] = &a;

  TextVqaMetrics metrics;
  std::vector<VqaItem> items;
  for (const auto& answer : answers) {
    if (!answer.has_prompt)
      fail("{}: TextVQA answers need a \"prompt\"", where(answer.path, answer.line));
    std::string question;
    try {
      question = textvqa_question_from_prompt(answer.prompt);
    } catch (const Error& e) {
      fail("{}: {}", where(answer.path, answer.line), e.what());
    }
    auto found = by_key.find(id_key(answer.question_id) + "\n" + question);
    if (found == by_key.end()) {
      fail("{}: no TextVQA annotation for image_id {} and question \"{}\"",
           where(answer.path, answer.line), id_text(answer.question_id), question);
    }
    if (found->second->answers.size() != 10) {
      fail("{}: the annotation of image_id {} has {} answers, expected 10",
           where(answer.path, answer.line), id_text(answer.question_id),
           found->second->answers.size());
    }
    items.push_back({answer.text, found->second->answers});
    metrics.questions.push_back(question);
    metrics.question_ids.push_back(id_text(answer.question_id));
    metrics.pred_answers.push_back(answer.text);
  }
  metrics.vqa = score_vqa_accuracy(items);
  return metrics;
}

std::vector<TextVqaAnnotation> read_textvqa_annotations(const std::string& path) {
  const nlohmann::json root = read_json_file(path);
  auto data = root.find("data");
  if (!root.is_object() || data == root.end() || !data->is_array()) {
    fail("{}: expected an object with a \"data\" array (TextVQA annotation format)", path);
  }
  std::vector<TextVqaAnnotation> annotations;
  for (size_t i = 0; i < data->size(); ++i) {
    const auto& entry = (*data)[i];
    auto bad = [&](const char* what) { fail("{}: data[{}]: {}", path, i, what); };
    if (!entry.is_object()) bad("not an object");
    if (!entry.contains("image_id") ||
        !(entry["image_id"].is_string() || entry["image_id"].is_number())) {
      bad("missing or invalid \"image_id\"");
    }
    if (!entry.contains("question") || !entry["question"].is_string()) bad("missing \"question\"");
    TextVqaAnnotation a;
    a.image_id = entry["image_id"];
    a.question = entry["question"].get<std::string>();
    // Test-split entries have no answers; they only matter if an answer points at them.
    if (entry.contains("answers")) {
      if (!entry["answers"].is_array()) bad("\"answers\" is not an array");
      for (const auto& ans : entry["answers"]) {
        if (!ans.is_string()) bad("\"answers\" must hold strings");
        a.answers.push_back(ans.get<std::string>());
      }
    }
    annotations.push_back(std::move(a));
  }
  return annotations;
}

TextVqaMetrics score_textvqa_files(const std::string& answers_path,
                                   const std::string& annotation_path) {
  return score_textvqa(read_answers(answers_path), read_textvqa_annotations(annotation_path));
}

}  // namespace adallava::scorers
