// Answering a benchmark's questions with a LLaVA/AdaLLaVA checkpoint at one budget: batched
// greedy generation, LLaVA's answer records, resume from an existing answer file and
// LLaVA-style chunking (see batch_plan.h for why batches never depend on what is left to do).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "eval/runner/eval_config.h"
#include "eval/runner/questions.h"

namespace adallava::model {
class LlavaPipeline;
}
namespace adallava::adaptive {
class DeadlineController;
}

namespace adallava::eval {

// A benchmark's items with their prompt ids and batch plan; built once, used for every budget.
struct PreparedBenchmark {
  EvalConfig config;
  std::vector<EvalItem> items;
  std::vector<std::vector<int64_t>> prompt_ids;  // per item, -200 at the image
  std::vector<std::vector<size_t>> batches;
  size_t batch_size = 1;
};

// The full prompt LLaVA's eval scripts feed the model: the conversation template around
// "<image>\n" + message (or the message alone for text-only items).
std::string build_eval_prompt(const EvalItem& item, const std::string& conv_mode);

PreparedBenchmark prepare_benchmark(const model::LlavaPipeline& pipeline, const EvalConfig& config,
                                    std::vector<EvalItem> items, size_t batch_size);

struct RunOptions {
  std::optional<double> budget;  // given to generation (unset for plain LLaVA)
  double recorded_budget = 1.0;  // written into the records
  std::optional<size_t> limit;   // only the first N questions of the file
  int64_t num_chunks = 1, chunk_idx = 0;
  std::string model_id;
  std::string answers_path;
  // Deadline mode (set with deadline_ms): the controller chooses each question's budget and
  // `budget` is unused. The deadline is per request, so questions are answered one at a time
  // in question order (the order a server would see them in), whatever the batch plan.
  adaptive::DeadlineController* deadline_controller = nullptr;
  std::optional<double> deadline_ms;
};

struct RunStats {
  size_t selected = 0;          // questions this run is responsible for
  size_t already_answered = 0;  // found in the answer file
  size_t generated = 0;         // answered now
  size_t computed_rows = 0;     // rows generated, including batch neighbours not written
  double generation_ms = 0;     // wall time spent in batches
};

RunStats run_answers(model::LlavaPipeline& pipeline, const PreparedBenchmark& benchmark,
                     const RunOptions& options);

// Indices (into benchmark.items) a run with these options answers.
std::vector<size_t> selected_items(size_t item_count, const RunOptions& options);

}  // namespace adallava::eval
