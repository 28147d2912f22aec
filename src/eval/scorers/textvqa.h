// TextVQA val (llava/eval/eval_textvqa.py): each answer is matched to its annotation by
// (image_id, question.lower()), the question being recovered from the prompt LLaVA used, then
// scored with the VQA soft accuracy.
#pragma once

#include <string>
#include <vector>

#include "eval/scorers/metrics_json.h"
#include "eval/scorers/records.h"
#include "eval/scorers/vqa_accuracy.h"

namespace adallava::scorers {

struct TextVqaAnnotation {
  nlohmann::json image_id;
  std::string question;
  std::vector<std::string> answers;
};

// The question part of a prompt ("<q>\nReference OCR token: ...\n<suffix>", "OCR tokens: ...
// Question: <q> Short answer:", ...), lower-cased. Throws for shapes upstream rejects.
std::string textvqa_question_from_prompt(const std::string& prompt);

struct TextVqaMetrics {
  VqaAccuracy vqa;
  std::vector<std::string> questions;  // recovered prompt question per item
  std::vector<std::string> question_ids;
  std::vector<std::string> pred_answers;
  MetricsJson to_json(bool with_items = false) const;
};

TextVqaMetrics score_textvqa(const std::vector<AnswerRecord>& answers,
                             const std::vector<TextVqaAnnotation>& annotations);

// TextVQA_0.5.1_val.json: {"data": [{"image_id", "question", "answers": [10 strings]}, ...]}.
std::vector<TextVqaAnnotation> read_textvqa_annotations(const std::string& path);
TextVqaMetrics score_textvqa_files(const std::string& answers_path,
                                   const std::string& annotation_path);

}  // namespace adallava::scorers
