#include "eval/runner/answer_file.h"

#include <cmath>
#include <filesystem>
#include <fstream>

#include <spdlog/spdlog.h>

#include "common/error.h"
#include "common/files.h"
#include "common/hash.h"
#include "common/py_text.h"
#include "eval/runner/questions.h"
#include "eval/scorers/records.h"

namespace adallava::eval {
namespace {

namespace fs = std::filesystem;

}  // namespace

nlohmann::ordered_json make_answer_record(const EvalItem& item, const AnswerContent& a) {
  nlohmann::ordered_json r;
  r["question_id"] = item.question_id;
  if (item.round_id >= 0) r["round_id"] = item.round_id;
  r["prompt"] = item.prompt_field;
  r["text"] = a.text;
  if (item.round_id >= 0) {
    r["options"] = item.options;
    r["option_char"] = item.option_chars;
  }
  r["answer_id"] = deterministic_answer_id(
      a.model_id, item.index, item.round_id, a.budget, item.prompt_field,
      a.deadline ? std::optional<double>(a.deadline->deadline_ms) : std::nullopt);
  r["model_id"] = a.model_id;
  r["metadata"] = nlohmann::ordered_json::object();
  r["question_index"] = item.index;
  r["budget"] = a.budget;
  r["plan"] = a.plan;
  r["prefill_flops"] = a.prefill_flops;
  r["flops"] = a.flops;
  r["new_tokens"] = a.new_tokens;
  if (a.deadline)
    r["deadline"] = {{"deadline_ms", a.deadline->deadline_ms},
                     {"predicted_ms", a.deadline->predicted_ms},
                     {"measured_ms", a.deadline->measured_ms},
                     {"met", a.deadline->met},
                     {"feasible", a.deadline->feasible}};
  r["timing"] = {{"batch_size", a.timing.batch_size},
                 {"image_ms", a.timing.image_ms},
                 {"prefill_ms", a.timing.prefill_ms},
                 {"decode_ms", a.timing.decode_ms},
                 {"total_ms", a.timing.total_ms}};
  return r;
}

std::string answer_line(const nlohmann::ordered_json& record) {
  return scorers::python_json_dumps(record);
}

nlohmann::ordered_json comparable_part(const nlohmann::ordered_json& record) {
  auto copy = record;
  copy.erase("timing");
  return copy;
}

std::string deterministic_answer_id(const std::string& model_id, size_t question_index,
                                    int round_id, double budget, const std::string& prompt,
                                    std::optional<double> deadline_ms) {
  static const char kAlphabet[] = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
  const std::string setting =
      deadline_ms ? "deadline " + py::repr(*deadline_ms) + " ms" : py::repr(budget);
  const std::string key = fmt::format("{}\x1f{}\x1f{}\x1f{}\x1f{}", model_id, question_index,
                                      round_id, setting, prompt);
  uint64_t parts[2] = {fnv1a(key, kFnvOffsetBasis), fnv1a(key, 0x9E3779B97F4A7C15ULL)};
  std::string id;
  for (int i = 0; i < 22; ++i) {
    uint64_t& p = parts[i % 2];
    id.push_back(kAlphabet[p % 57]);
    p /= 57;
  }
  return id;
}

std::string model_name_from_path(const std::string& model_path) {
  std::string path = model_path;
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  const fs::path p(path);
  const std::string last = p.filename().string();
  if (py::starts_with(last, "checkpoint-")) return p.parent_path().filename().string() + "_" + last;
  return last;
}

std::map<size_t, StoredAnswer> read_stored_answers(const std::string& path,
                                                   const std::vector<EvalItem>& items,
                                                   double budget, const std::string& model_id,
                                                   std::optional<double> deadline_ms) {
  std::map<size_t, StoredAnswer> out;
  if (!file_exists(path)) return out;
  const std::string text = read_text_file(path);
  size_t start = 0, line_no = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    const bool complete = end != std::string::npos;
    if (!complete) end = text.size();
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    ++line_no;
    const std::string where = scorers::where(path, line_no);
    nlohmann::ordered_json record;
    try {
      record = nlohmann::ordered_json::parse(line);
    } catch (const nlohmann::json::exception&) {
      if (!complete) {
        spdlog::warn("[eval] {}: dropping the unfinished last line of an interrupted run", where);
        break;
      }
      fail("{}: malformed answer line (not JSON); remove it or use a fresh --out", where);
    }
    if (!record.is_object() || !record.contains("question_index") ||
        !record["question_index"].is_number_unsigned())
      fail("{}: answer without \"question_index\": not written by `adallava eval`", where);
    const size_t index = record["question_index"].get<size_t>();
    if (index >= items.size())
      fail("{}: question_index {} is past the {} questions of the question file", where, index,
           items.size());
    const auto& item = items[index];
    const int round = record.contains("round_id") ? record["round_id"].get<int>() : -1;
    const std::string stored_id = record.value("question_id", nlohmann::ordered_json()).dump();
    if (stored_id != item.question_id.dump() || round != item.round_id)
      fail(
          "{}: question_id {} does not match question {} ({}) of the question file; the "
          "question file changed since this answer was written",
          where, stored_id, index, item.source);
    // The deadline the answer was given under, if any (deadline mode's records only).
    std::optional<double> stored_deadline;
    if (record.contains("deadline") && record["deadline"].is_object() &&
        record["deadline"].contains("deadline_ms") && record["deadline"]["deadline_ms"].is_number())
      stored_deadline = record["deadline"]["deadline_ms"].get<double>();
    if (deadline_ms) {
      // The budget was the controller's choice; the deadline is what the run asked for.
      if (!stored_deadline || std::abs(*stored_deadline - *deadline_ms) > 1e-9)
        fail("{}: answer {} in the answers of deadline {} ms", where,
             stored_deadline ? fmt::format("for deadline {} ms", *stored_deadline)
                             : std::string("of a budget run"),
             *deadline_ms);
    } else if (stored_deadline) {
      fail("{}: answer for deadline {} ms in the answers of budget {}", where, *stored_deadline,
           budget);
    } else if (!record.contains("budget") || !record["budget"].is_number() ||
               std::abs(record["budget"].get<double>() - budget) > 1e-12) {
      fail("{}: answer for budget {} in the answers of budget {}", where,
           record.value("budget", nlohmann::ordered_json()).dump(), budget);
    }
    if (record.value("model_id", std::string()) != model_id)
      fail("{}: answer of model \"{}\" in the answers of \"{}\"", where,
           record.value("model_id", std::string()), model_id);
    if (out.count(index)) fail("{}: question {} is answered twice", where, index);
    out[index] = {index, line, std::move(record)};
  }
  return out;
}

void write_answers_in_order(const std::string& path,
                            const std::map<size_t, StoredAnswer>& answers) {
  std::string text;
  for (const auto& [index, answer] : answers) text += answer.line + "\n";
  const auto parent = fs::path(path).parent_path();
  if (!parent.empty()) fs::create_directories(parent);
  write_text_file_atomic(path, text);
}

}  // namespace adallava::eval
