// Answer files in LLaVA's format, one JSON object per line, written as Python's json.dumps
// writes them: {"question_id", ["round_id"], "prompt", "text", ["options", "option_char"],
// "answer_id", "model_id", "metadata"} and then our additions: "question_index" (position in
// the question list; question ids repeat in MME), "budget", "plan", "prefill_flops", "flops",
// "new_tokens", in deadline mode "deadline" (the deadline, the controller's prediction, the
// measured time, met) and, last, "timing" (measured, so the only part that differs between
// runs of the budget mode; in deadline mode the chosen budget and plan depend on the measured
// times too).
//
// A run appends answers as they are produced (an interrupted run keeps them) and finally
// rewrites the file in question order, so the file does not depend on batching or resumes.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace adallava::eval {

struct EvalItem;

struct AnswerTiming {
  size_t batch_size = 1;
  double image_ms = 0, prefill_ms = 0, decode_ms = 0;
  double total_ms = 0;  // wall time of the batch this answer was generated in
};

// How one answer of deadline mode fared (adaptive::DeadlineRecord, as written to the record).
struct DeadlineOutcome {
  double deadline_ms = 0;
  double predicted_ms = 0;  // the controller's prediction for the chosen budget
  double measured_ms = 0;   // image + prefill + decode of this answer
  bool met = false;
  bool feasible = true;  // false: even the lowest budget was predicted to miss
};

struct AnswerContent {
  std::string text;
  std::string model_id;
  double budget = 1.0;
  std::vector<int> plan;
  double prefill_flops = 0, flops = 0;
  size_t new_tokens = 0;
  std::optional<DeadlineOutcome> deadline;  // deadline mode: budget is the one chosen
  AnswerTiming timing;
};

nlohmann::ordered_json make_answer_record(const EvalItem& item, const AnswerContent& answer);
// One line of the answer file (no newline): json.dumps of the record.
std::string answer_line(const nlohmann::ordered_json& record);

// The record without "timing": what must be identical between runs.
nlohmann::ordered_json comparable_part(const nlohmann::ordered_json& record);

// LLaVA's answer_id is a random shortuuid; ours is 22 base-57 characters derived from the
// model, the question (position, round, prompt) and the budget, so reruns write the same file.
// In deadline mode the deadline replaces the budget: the chosen budget depends on timing.
std::string deterministic_answer_id(const std::string& model_id, size_t question_index,
                                    int round_id, double budget, const std::string& prompt,
                                    std::optional<double> deadline_ms = std::nullopt);

// get_model_name_from_path: the folder name, or "<parent>_<checkpoint-N>" for checkpoints.
std::string model_name_from_path(const std::string& model_path);

struct StoredAnswer {
  size_t question_index = 0;
  std::string line;  // exactly as stored
  nlohmann::ordered_json record;
};

// Answers already in `path`, keyed by question_index, checked against `items` (question id,
// budget or, with deadline_ms, the deadline; model). A last line cut off by an interruption is
// dropped with a warning; any other bad line is an error naming file and line. A missing file is
// empty.
std::map<size_t, StoredAnswer> read_stored_answers(
    const std::string& path, const std::vector<EvalItem>& items, double budget,
    const std::string& model_id, std::optional<double> deadline_ms = std::nullopt);

// Writes the answers in question order (atomically).
void write_answers_in_order(const std::string& path, const std::map<size_t, StoredAnswer>& answers);

}  // namespace adallava::eval
