#include "eval/runner/runner.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "adaptive/adallava.h"
#include "adaptive/deadline.h"
#include "common/error.h"
#include "data/image/preprocess.h"
#include "data/text/conversation.h"
#include "eval/runner/answer_file.h"
#include "eval/runner/base64.h"
#include "eval/runner/batch_plan.h"
#include "model/generation.h"
#include "model/pipeline.h"

namespace adallava::eval {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

torch::Tensor pixels_for(const model::LlavaPipeline& pipeline, const EvalItem& item) {
  if (!item.image_path.empty()) return pipeline.load_pixels(item.image_path);
  const auto bytes = base64_decode(item.image_base64, item.source + ": image");
  const auto rgb = image::decode_image_bytes(bytes, item.source + ": image");
  const bool pad = pipeline.loaded.model->config.image_aspect_ratio == "pad";
  return model::to_tensor(image::preprocess(rgb, pipeline.loaded.preprocess, pad))
      .to(pipeline.dtype);
}

double elapsed_ms(Clock::time_point since) {
  return std::chrono::duration<double, std::milli>(Clock::now() - since).count();
}

}  // namespace

std::string build_eval_prompt(const EvalItem& item, const std::string& conv_mode) {
  const auto& tmpl = text::conversation_template(conv_mode);
  // The scripts prepend the image tag themselves (mm_use_im_start_end is off in LLaVA-1.5).
  const std::string message = item.has_image() ? "<image>\n" + item.message : item.message;
  return text::build_prompt(tmpl, {{tmpl.user_role, message}, {tmpl.assistant_role, std::nullopt}});
}

PreparedBenchmark prepare_benchmark(const model::LlavaPipeline& pipeline, const EvalConfig& config,
                                    std::vector<EvalItem> items, size_t batch_size) {
  PreparedBenchmark b;
  b.config = config;
  b.items = std::move(items);
  b.batch_size = batch_size;
  std::vector<PlanInput> plan_inputs;
  for (const auto& item : b.items) {
    b.prompt_ids.push_back(pipeline.prompt_ids(build_eval_prompt(item, config.conv_mode)));
    plan_inputs.push_back({item.has_image(), b.prompt_ids.back().size()});
  }
  b.batches = plan_batches(plan_inputs, batch_size);
  return b;
}

std::vector<size_t> selected_items(size_t item_count, const RunOptions& options) {
  const size_t limited = options.limit ? std::min(*options.limit, item_count) : item_count;
  const auto chunk = get_chunk(limited, options.num_chunks, options.chunk_idx);
  std::vector<size_t> out;
  for (size_t i = chunk.begin; i < chunk.end; ++i) out.push_back(i);
  return out;
}

RunStats run_answers(model::LlavaPipeline& pipeline, const PreparedBenchmark& benchmark,
                     const RunOptions& options) {
  const auto& items = benchmark.items;
  RunStats stats;
  const auto selection = selected_items(items.size(), options);
  const std::set<size_t> selected(selection.begin(), selection.end());
  stats.selected = selected.size();

  const bool deadline_mode = options.deadline_ms.has_value();
  if (deadline_mode && !options.deadline_controller)
    fail("eval: deadline mode needs a deadline controller");
  auto stored = read_stored_answers(options.answers_path, items, options.recorded_budget,
                                    options.model_id, options.deadline_ms);
  for (const auto& [index, answer] : stored) stats.already_answered += selected.count(index);
  // Start from a clean file (drops a line cut off by an interruption), then append.
  write_answers_in_order(options.answers_path, stored);
  std::ofstream out(options.answers_path, std::ios::app | std::ios::binary);
  if (!out) fail("{}: cannot open for writing", options.answers_path);

  model::GenerationOptions gen;
  gen.max_new_tokens = static_cast<int>(benchmark.config.max_new_tokens);
  gen.temperature = 0.0;  // LLaVA's eval scripts: --temperature 0 (greedy)
  gen.budget = options.budget;

  std::vector<std::vector<size_t>> one_at_a_time;
  if (deadline_mode)
    for (size_t index = 0; index < items.size(); ++index) one_at_a_time.push_back({index});
  const auto& batches = deadline_mode ? one_at_a_time : benchmark.batches;
  const bool plain_model = !adaptive::scheduler_of(*pipeline.loaded.model);
  const std::string setting = deadline_mode ? fmt::format("deadline {} ms", *options.deadline_ms)
                                            : fmt::format("budget {}", options.recorded_budget);

  const size_t pending_total = stats.selected - stats.already_answered;
  auto last_log = Clock::now();
  for (const auto& batch : batches) {
    std::vector<size_t> pending;
    for (size_t index : batch)
      if (selected.count(index) && !stored.count(index)) pending.push_back(index);
    if (pending.empty()) continue;

    const auto start = Clock::now();
    // The whole planned batch runs, so every answer comes out of the same computation as in
    // a full run; only the answers this run owns are written.
    std::vector<model::GenerationRequest> requests;
    for (size_t index : batch) {
      model::GenerationRequest r;
      r.ids = benchmark.prompt_ids[index];
      if (items[index].has_image()) r.pixels = pixels_for(pipeline, items[index]);
      requests.push_back(std::move(r));
    }
    std::optional<DeadlineOutcome> outcome;
    double chosen_budget = options.recorded_budget;
    if (deadline_mode) {
      chosen_budget = adaptive::choose_budget_for_prompt(
          *options.deadline_controller, *pipeline.loaded.model, benchmark.prompt_ids[batch.front()],
          *options.deadline_ms, gen.max_new_tokens);
      // A plain LLaVA has no budget input: its only level, 1.0, is "run everything".
      gen.budget = plain_model ? std::nullopt : std::optional<double>(chosen_budget);
    }
    auto results = model::generate(pipeline.loaded.model, requests, gen);
    const double batch_ms = elapsed_ms(start);
    if (deadline_mode) {
      // Measured as generate's deadline mode measures it (vision tower + prefill + decode), so
      // the correction sees the model's time, not the benchmark's image decoding.
      const auto& r = options.deadline_controller->observe(results.front());
      outcome = DeadlineOutcome{r.deadline_ms, r.predicted_ms, r.measured_ms, r.met, r.feasible};
    }
    stats.generation_ms += batch_ms;
    stats.computed_rows += batch.size();

    for (size_t row = 0; row < batch.size(); ++row) {
      const size_t index = batch[row];
      if (!selected.count(index) || stored.count(index)) continue;
      const auto& g = results[row];
      std::vector<int64_t> known;  // llava-hf's added rows are special tokens: skipped
      for (auto id : g.tokens)
        if (id < pipeline.tokenizer.vocab_size()) known.push_back(id);
      AnswerContent a;
      a.text = pipeline.tokenizer.decode_answer(known);
      a.model_id = options.model_id;
      a.budget = chosen_budget;
      a.deadline = outcome;
      a.plan = g.plan;
      a.prefill_flops = g.prefill_flops;
      a.flops = g.flops;
      a.new_tokens = g.tokens.size();
      a.timing = {batch.size(), g.image_ms, g.prefill_ms, g.decode_ms, batch_ms};
      const auto record = make_answer_record(items[index], a);
      const std::string line = answer_line(record);
      out << line << '\n';
      stored[index] = {index, line, record};
      ++stats.generated;
    }
    out.flush();
    if (elapsed_ms(last_log) > 10000 || stats.generated == pending_total) {
      last_log = Clock::now();
      spdlog::info("[eval] {} {}: {}/{} answered ({:.2f} questions/s)", benchmark.config.benchmark,
                   setting, stats.already_answered + stats.generated, stats.selected,
                   1000.0 * stats.generated / std::max(stats.generation_ms, 1e-9));
    }
  }
  out.close();
  write_answers_in_order(options.answers_path, stored);
  return stats;
}

}  // namespace adallava::eval
