// Benchmark questions in LLaVA's published formats, turned into the user message and the
// "prompt" field exactly as LLaVA-1.5's eval scripts build them:
//   model_vqa_loader.py   (VQAv2, GQA, TextVQA, POPE, MME): question .jsonl, text used as is;
//   model_vqa_science.py  (ScienceQA): llava_test_CQM-A.json, first human turn without <image>;
//   model_vqa_mmbench.py  (MMBench): .tsv with base64 images, [hint\n]question\nA. ..\nB. ..
// Errors name the file and line of the bad record.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/runner/eval_config.h"

namespace adallava::eval {

struct EvalItem {
  nlohmann::json question_id;  // as in the file (number or string; upstream keeps the type)
  int round_id = -1;           // MMBench round (-1 = not an MMBench record)
  std::string message;         // user message without the image tag
  std::string prompt_field;    // the "prompt" LLaVA writes into the answer record
  std::string image_path;      // image file ("" = text-only or in-memory image)
  std::string image_base64;    // MMBench: the base64 PNG/JPEG of the row
  std::string category;        // family/category when the file carries one
  nlohmann::json options;      // MMBench: options and option letters of this round
  nlohmann::json option_chars;
  std::string source;  // "file:line" of the record, for messages
  // Position in the item list. It identifies an answer on resume: question ids are not unique
  // (MME asks two questions per image under the image's name).
  size_t index = 0;

  bool has_image() const { return !image_path.empty() || !image_base64.empty(); }
};

// ScienceQA's message: the human turn with "<image>" removed and stripped, plus the
// letter instruction when single_pred_prompt. The prompt field additionally starts with
// "<image>\n" for items with an image (eval_science_qa.py counts IMG accuracy by it).
struct ScienceqaPrompt {
  std::string message;
  std::string prompt_field;
};
ScienceqaPrompt scienceqa_prompt(const std::string& human_value, bool has_image,
                                 bool single_pred_prompt);

// MMBench's question text: "[hint\n]question\nA. o1\nB. o2...", then the letter instruction
// (English) when single_pred_prompt. The prompt field is the text without the instruction.
struct MmbenchPrompt {
  std::string message;
  std::string prompt_field;
};
MmbenchPrompt mmbench_prompt(const std::string& question, const std::string& hint,
                             const std::vector<std::string>& options, bool single_pred_prompt);

extern const char* const kLetterInstruction;  // "Answer with the option's letter ..."

// Every item of the benchmark, in question-file order (MMBench: rows, then rounds).
// Image files are checked to exist; a missing one names the question file and line.
std::vector<EvalItem> read_benchmark_items(const EvalConfig& config);

// The readers behind it, for one file each.
std::vector<EvalItem> read_question_jsonl(const std::string& path, const std::string& image_folder);
std::vector<EvalItem> read_scienceqa_questions(const std::string& path,
                                               const std::string& image_folder,
                                               bool single_pred_prompt);
std::vector<EvalItem> read_mmbench_questions(const std::string& path, bool single_pred_prompt,
                                             bool all_rounds);

}  // namespace adallava::eval
