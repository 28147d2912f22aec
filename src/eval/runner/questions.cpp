#include "eval/runner/questions.h"

#include <set>

#include <fmt/format.h>

#include "common/error.h"
#include "common/files.h"
#include "common/py_text.h"
#include "eval/scorers/records.h"
#include "eval/scorers/tsv.h"

namespace adallava::eval {
namespace {

const char* const kMmbenchLetters[] = {"A", "B", "C", "D"};

// Missing images are reported where the question names them, once per distinct file.
class ImageChecker {
 public:
  void require(const std::string& path, const std::string& image, const std::string& where) {
    if (checked_.count(path)) return;
    if (!file_exists(path)) fail("{}: image \"{}\" not found ({})", where, image, path);
    checked_.insert(path);
  }

 private:
  std::set<std::string> checked_;
};

std::string string_field(const nlohmann::json& record, const char* name, const std::string& where) {
  if (!record.is_object()) fail("{}: expected a JSON object", where);
  if (!record.contains(name)) fail("{}: missing \"{}\"", where, name);
  if (!record[name].is_string()) fail("{}: \"{}\" is not a string", where, name);
  return record[name].get<std::string>();
}

void check_question_id(const nlohmann::json& record, const char* name, const std::string& where) {
  if (!record.contains(name)) fail("{}: missing \"{}\"", where, name);
  const auto& id = record[name];
  if (!id.is_string() && !id.is_number_integer())
    fail("{}: \"{}\" must be a string or an integer", where, name);
}

// model_vqa_mmbench.is_none on a pandas cell.
bool mmbench_is_none(const std::string& cell) {
  if (scorers::is_pandas_na(cell)) return true;
  const std::string lowered = py::lower(cell);
  return lowered == "nan" || lowered == "none";
}

}  // namespace

const char* const kLetterInstruction =
    "Answer with the option's letter from the given choices directly.";

ScienceqaPrompt scienceqa_prompt(const std::string& human_value, bool has_image,
                                 bool single_pred_prompt) {
  ScienceqaPrompt p;
  p.message = py::strip(py::replace_all(human_value, "<image>", ""));
  p.prompt_field = has_image ? "<image>\n" + p.message : p.message;
  if (single_pred_prompt) {
    p.message += std::string("\n") + kLetterInstruction;
    p.prompt_field += std::string("\n") + kLetterInstruction;
  }
  return p;
}

MmbenchPrompt mmbench_prompt(const std::string& question, const std::string& hint,
                             const std::vector<std::string>& options, bool single_pred_prompt) {
  std::string text = question;
  if (!mmbench_is_none(hint)) text = hint + "\n" + text;
  for (size_t i = 0; i < options.size() && i < 4; ++i)
    text += std::string("\n") + kMmbenchLetters[i] + ". " + options[i];
  MmbenchPrompt p;
  p.prompt_field = text;
  p.message = single_pred_prompt ? text + "\n" + kLetterInstruction : text;
  return p;
}

std::vector<EvalItem> read_question_jsonl(const std::string& path,
                                          const std::string& image_folder) {
  if (!file_exists(path)) fail("{}: question file not found", path);
  std::vector<EvalItem> items;
  ImageChecker images;
  for (const auto& line : scorers::read_jsonl(path)) {
    const std::string where = scorers::where(path, line.line);
    EvalItem item;
    check_question_id(line.value, "question_id", where);
    item.question_id = line.value["question_id"];
    item.message = string_field(line.value, "text", where);
    item.prompt_field = item.message;
    const std::string image = string_field(line.value, "image", where);
    item.image_path = join_path(image_folder, image);
    images.require(item.image_path, image, where);
    if (line.value.contains("category") && line.value["category"].is_string())
      item.category = line.value["category"].get<std::string>();
    item.source = where;
    item.index = items.size();
    items.push_back(std::move(item));
  }
  return items;
}

std::vector<EvalItem> read_scienceqa_questions(const std::string& path,
                                               const std::string& image_folder,
                                               bool single_pred_prompt) {
  if (!file_exists(path)) fail("{}: question file not found", path);
  const auto root = read_json_file(path);
  if (!root.is_array()) fail("{}: expected a JSON list of questions", path);
  std::vector<EvalItem> items;
  ImageChecker images;
  for (size_t i = 0; i < root.size(); ++i) {
    const auto& entry = root[i];
    const std::string where = fmt::format("{}: entry {}", path, i);
    if (!entry.is_object()) fail("{}: expected a JSON object", where);
    EvalItem item;
    check_question_id(entry, "id", where);
    item.question_id = entry["id"];
    if (!entry.contains("conversations") || !entry["conversations"].is_array() ||
        entry["conversations"].empty())
      fail("{}: missing \"conversations\"", where);
    const std::string value = string_field(entry["conversations"][0], "value", where);
    const bool has_image = entry.contains("image");  // upstream: 'image' in line
    if (has_image) {
      const std::string image = string_field(entry, "image", where);
      item.image_path = join_path(image_folder, image);
      images.require(item.image_path, image, where);
    }
    const auto prompt = scienceqa_prompt(value, has_image, single_pred_prompt);
    item.message = prompt.message;
    item.prompt_field = prompt.prompt_field;
    item.source = where;
    item.index = items.size();
    items.push_back(std::move(item));
  }
  return items;
}

std::vector<EvalItem> read_mmbench_questions(const std::string& path, bool single_pred_prompt,
                                             bool all_rounds) {
  if (!file_exists(path)) fail("{}: question file not found", path);
  const auto table = scorers::read_tsv(path);
  for (const char* needed : {"index", "question", "hint", "image", "A", "B"}) {
    if (table.column(needed) < 0) fail("{}: missing column \"{}\"", path, needed);
  }
  const int index_col = table.column("index"), question_col = table.column("question"),
            hint_col = table.column("hint"), image_col = table.column("image"),
            category_col = table.column("category");
  std::vector<EvalItem> items;
  for (size_t r = 0; r < table.rows.size(); ++r) {
    const auto& row = table.rows[r];
    const std::string where = fmt::format("{}:{}", path, table.row_lines[r]);
    int64_t index = 0;
    try {
      size_t used = 0;
      index = std::stoll(row[index_col], &used);
      if (used != row[index_col].size()) throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
      fail("{}: index \"{}\" is not an integer", where, row[index_col]);
    }
    std::vector<std::string> options;  // up to the first missing cell, as get_options
    for (const char* letter : kMmbenchLetters) {
      const int col = table.column(letter);
      if (col < 0 || mmbench_is_none(row[col])) break;
      options.push_back(row[col]);
    }
    if (mmbench_is_none(row[image_col])) fail("{}: row has no image", where);
    std::vector<std::string> chars(kMmbenchLetters, kMmbenchLetters + options.size());
    const size_t rounds = all_rounds ? options.size() : 1;
    for (size_t round = 0; round < rounds; ++round) {
      EvalItem item;
      item.question_id = index;
      item.round_id = static_cast<int>(round);
      const auto prompt =
          mmbench_prompt(row[question_col], row[hint_col], options, single_pred_prompt);
      item.message = prompt.message;
      item.prompt_field = prompt.prompt_field;
      item.image_base64 = row[image_col];
      if (category_col >= 0) item.category = row[category_col];
      item.options = options;
      item.option_chars = chars;
      item.source = where;
      item.index = items.size();
      items.push_back(std::move(item));
      // model_vqa_mmbench rotates options and letters together after each round.
      if (!options.empty()) {
        std::rotate(options.begin(), options.begin() + 1, options.end());
        std::rotate(chars.begin(), chars.begin() + 1, chars.end());
      }
    }
  }
  return items;
}

std::vector<EvalItem> read_benchmark_items(const EvalConfig& c) {
  const std::string questions = c.resolve(c.questions);
  if (c.benchmark == "scienceqa")
    return read_scienceqa_questions(questions, c.resolve(c.image_folder), c.single_pred_prompt);
  if (c.benchmark == "mmbench")
    return read_mmbench_questions(questions, c.single_pred_prompt, c.all_rounds);
  return read_question_jsonl(questions, c.resolve(c.image_folder));
}

}  // namespace adallava::eval
