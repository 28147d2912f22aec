// The runner on the tiny golden LLaVA and the synthetic suite: answers equal the pipeline's own
// answer for the same question, resume after an interruption and chunk+merge give the same
// file as one uninterrupted run, records carry LLaVA's fields plus cost and timing, and the
// files score with the upstream-exact scorers.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/files.h"
#include "eval/runner/answer_file.h"
#include "eval/runner/evaluation.h"
#include "eval/runner/model_fingerprint.h"
#include "eval/runner/runner.h"
#include "eval/runner/scoring.h"
#include "eval/scorers/records.h"
#include "io/weights.h"
#include "model/pipeline.h"
#include "support/paths.h"
#include "synth_fixture.h"

using namespace adallava;
using namespace adallava::eval;
namespace fs = std::filesystem;

namespace {

const std::string kModel = "llava-tiny/llava15_orig";

model::LlavaPipeline& tiny_pipeline() {
  static model::LlavaPipeline p = [] {
    model::LoadOptions o;
    o.vision_tower_dir = test::golden("llava-tiny/clip_vision");
    return model::LlavaPipeline::load(test::golden(kModel), o);
  }();
  return p;
}

EvalConfig config_for(const std::string& name, int max_new_tokens = 6) {
  auto c = load_eval_configs(test::source_dir() + "/configs/eval/" + name + ".yaml",
                             {"data_root=" + test::tiny_synth_suite() + "/eval",
                              "max_new_tokens=" + std::to_string(max_new_tokens)});
  return c.at(0);
}

// Lines of an answer file without the measured "timing" part.
std::vector<std::string> comparable_lines(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line))
    out.push_back(answer_line(comparable_part(nlohmann::ordered_json::parse(line))));
  return out;
}

RunOptions options_for(const std::string& path) {
  RunOptions o;
  o.model_id = "llava15_orig";
  o.answers_path = path;
  return o;
}

}  // namespace

TEST_CASE("an answer is what the pipeline answers for the question alone (batch size 1)") {
  auto& pipeline = tiny_pipeline();
  const auto cfg = config_for("vqav2");
  const auto prepared = prepare_benchmark(pipeline, cfg, read_benchmark_items(cfg), 1);
  const std::string dir = test::scratch_dir("eval-runner-single");
  auto o = options_for(dir + "/answers.jsonl");
  o.limit = 3;
  const auto stats = run_answers(pipeline, prepared, o);
  CHECK(stats.generated == 3);
  CHECK(stats.computed_rows == 3);
  std::ifstream in(o.answers_path);
  std::string line;
  size_t i = 0;
  model::GenerationOptions gen;
  gen.max_new_tokens = 6;
  while (std::getline(in, line)) {
    const auto record = nlohmann::ordered_json::parse(line);
    const auto& item = prepared.items[i];
    const auto alone = pipeline.answer({{item.message, item.image_path}}, "vicuna_v1", gen).at(0);
    CHECK(record["text"] == alone.text);
    CHECK(record["question_id"].dump() == item.question_id.dump());
    CHECK(record["prompt"] == item.message);
    CHECK(record["new_tokens"] == alone.generation.tokens.size());
    ++i;
  }
  CHECK(i == 3);
}

TEST_CASE("records: LLaVA's keys in LLaVA's order, then budget, plan, FLOPs, timing") {
  auto& pipeline = tiny_pipeline();
  const auto cfg = config_for("mmbench", 3);
  const auto prepared = prepare_benchmark(pipeline, cfg, read_benchmark_items(cfg), 4);
  const std::string dir = test::scratch_dir("eval-runner-records");
  auto o = options_for(dir + "/answers.jsonl");
  o.limit = 5;
  run_answers(pipeline, prepared, o);
  std::ifstream in(o.answers_path);
  std::string line;
  REQUIRE(std::getline(in, line));
  const auto r = nlohmann::ordered_json::parse(line);
  std::vector<std::string> keys;
  for (const auto& [k, v] : r.items()) keys.push_back(k);
  CHECK(keys == std::vector<std::string>{"question_id", "round_id", "prompt", "text", "options",
                                         "option_char", "answer_id", "model_id", "metadata",
                                         "question_index", "budget", "plan", "prefill_flops",
                                         "flops", "new_tokens", "timing"});
  CHECK(line.rfind("{\"question_id\": 0, \"round_id\": 0, \"prompt\": ", 0) == 0);  // json.dumps
  CHECK(r["answer_id"].get<std::string>().size() == 22);
  CHECK(r["metadata"] == nlohmann::ordered_json::object());
  CHECK(r["budget"] == 1.0);
  CHECK(r["timing"]["batch_size"].get<int>() >= 1);
  CHECK(r["timing"]["total_ms"].get<double>() > 0);
}

TEST_CASE("interrupted and resumed run = uninterrupted run (also after a cut-off last line)") {
  auto& pipeline = tiny_pipeline();
  const auto cfg = config_for("vqav2");
  const auto prepared = prepare_benchmark(pipeline, cfg, read_benchmark_items(cfg), 4);
  const std::string dir = test::scratch_dir("eval-runner-resume");

  const auto full = options_for(dir + "/full.jsonl");
  CHECK(run_answers(pipeline, prepared, full).generated == 18);

  auto part = options_for(dir + "/resumed.jsonl");
  part.limit = 7;  // the interruption
  CHECK(run_answers(pipeline, prepared, part).generated == 7);
  CHECK(comparable_lines(part.answers_path).size() == 7);
  part.limit.reset();
  const auto resumed = run_answers(pipeline, prepared, part);
  CHECK(resumed.already_answered == 7);
  CHECK(resumed.generated == 11);
  CHECK(comparable_lines(part.answers_path) == comparable_lines(full.answers_path));

  // A process killed while writing leaves half a line: it is dropped and answered again.
  const std::string text = read_text_file(part.answers_path);
  const size_t cut = text.rfind('\n', text.size() - 2) + 20;
  std::ofstream(part.answers_path, std::ios::binary | std::ios::trunc) << text.substr(0, cut);
  CHECK(run_answers(pipeline, prepared, part).generated == 1);
  CHECK(comparable_lines(part.answers_path) == comparable_lines(full.answers_path));

  // Nothing left to do: the file stays as it is.
  CHECK(run_answers(pipeline, prepared, part).generated == 0);
  CHECK(comparable_lines(part.answers_path) == comparable_lines(full.answers_path));
}

TEST_CASE("a foreign answer file is refused, naming file and line") {
  auto& pipeline = tiny_pipeline();
  const auto cfg = config_for("gqa");
  const auto prepared = prepare_benchmark(pipeline, cfg, read_benchmark_items(cfg), 4);
  const std::string dir = test::scratch_dir("eval-runner-foreign");
  auto o = options_for(dir + "/answers.jsonl");
  o.limit = 2;
  run_answers(pipeline, prepared, o);
  o.recorded_budget = 0.5;  // a different budget's folder
  try {
    run_answers(pipeline, prepared, o);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("answers.jsonl:1") != std::string::npos);
  }
}

TEST_CASE("chunks + merge = one unchunked run; results files are written and parse") {
  const std::string out = test::scratch_dir("eval-runner-chunks");
  EvaluationRequest r;
  r.configs = {config_for("vqav2"), config_for("scienceqa", 4)};
  r.models = {{test::golden(kModel), "tiny"}};
  r.vision_tower = test::golden("llava-tiny/clip_vision");
  r.batch_size = 4;
  r.out_dir = out + "/whole";
  const auto whole = run_evaluation(r);
  REQUIRE(whole.size() == 2);
  CHECK(whole[0].answered == 18);
  CHECK(whole[0].value.has_value());  // local VQA accuracy from the official-format annotations
  CHECK(whole[1].metric == "img_accuracy");
  CHECK(whole[1].value.has_value());
  CHECK(whole[0].mean_prefill_flops >= 0);

  r.out_dir = out + "/chunked";
  r.num_chunks = 3;
  for (int64_t k = 0; k < 3; ++k) {
    r.chunk_idx = k;
    CHECK(run_evaluation(r).empty());  // answers only
  }
  CHECK(!fs::exists(out + "/chunked/results.json"));
  r.merge = true;
  const auto merged = run_evaluation(r);
  REQUIRE(merged.size() == 2);
  for (const char* b : {"vqav2", "scienceqa"}) {
    const std::string rel = std::string("/tiny/") + b + "/budget_1.00/answers.jsonl";
    CHECK(comparable_lines(out + "/chunked" + rel) == comparable_lines(out + "/whole" + rel));
  }
  CHECK(merged[0].value == whole[0].value);
  CHECK(merged[1].value == whole[1].value);

  const auto json = read_json_file(out + "/whole/results.json");
  CHECK(json["results"].size() == 2);
  CHECK(json["results"][0]["benchmark"] == "vqav2");
  CHECK(json["results"][0]["adaptive"] == false);
  const std::string csv = read_text_file(out + "/whole/results.csv");
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 3);
  CHECK(csv.rfind("model,adaptive,benchmark,budget,metric,value,", 0) == 0);
  const std::string svg = read_text_file(out + "/whole/plot.svg");
  CHECK(svg.find("<svg") != std::string::npos);
  CHECK(svg.find("</svg>") != std::string::npos);
  CHECK(svg.find(">vqav2</text>") != std::string::npos);
  const std::string md = read_text_file(out + "/whole/results.md");
  CHECK(md.find("| tiny | 1.00 |") != std::string::npos);
  CHECK(md.find("## Per family: vqav2") != std::string::npos);
  // The scorer's own outputs beside the answers.
  CHECK(fs::exists(out + "/whole/tiny/vqav2/budget_1.00/submission.json"));
  CHECK(fs::exists(out + "/whole/tiny/scienceqa/budget_1.00/metrics.json"));
}

TEST_CASE("a resumed evaluation refuses answers written by a since-retrained checkpoint") {
  // A writable copy of the tiny checkpoint (the golden files are read-only).
  const std::string dir = test::scratch_dir("eval-runner-retrained");
  const std::string ckpt = dir + "/ckpt";
  fs::create_directories(ckpt);
  for (const auto& entry : fs::directory_iterator(test::golden(kModel)))
    fs::copy_file(entry.path(), fs::path(ckpt) / entry.path().filename());
  CHECK(checkpoint_fingerprint(ckpt) == checkpoint_fingerprint(test::golden(kModel)));

  EvaluationRequest r;
  r.configs = {config_for("vqav2")};
  r.models = {{ckpt, "tiny"}};
  r.vision_tower = test::golden("llava-tiny/clip_vision");
  r.limit = 3;
  r.out_dir = dir + "/out";
  REQUIRE(run_evaluation(r).size() == 1);
  const std::string answers = r.out_dir + "/tiny/vqav2/budget_1.00/answers.jsonl";
  const std::string before = read_text_file(answers);
  REQUIRE(run_evaluation(r).size() == 1);  // same checkpoint: the answers are reused
  CHECK(read_text_file(answers) == before);

  // "Retrain": every weight moves, as an optimizer step moves them.
  const std::string weights = ckpt + "/model.safetensors";
  auto state = io::load_safetensors(weights);
  for (auto& [name, t] : state) t = t + 1e-3;
  fs::remove(weights);
  io::save_safetensors(weights, state);
  const std::string now = checkpoint_fingerprint(ckpt);
  CHECK(now != checkpoint_fingerprint(test::golden(kModel)));
  try {
    run_evaluation(r);
    FAIL("stale answers were reused");
  } catch (const Error& e) {
    CHECK_THAT(e.what(), Catch::Contains(r.out_dir + "/tiny/vqav2/budget_1.00") &&
                             Catch::Contains("retrained or replaced") && Catch::Contains(now));
  }
  CHECK(read_text_file(answers) == before);  // nothing lost
  r.out_dir = dir + "/afresh";
  CHECK(run_evaluation(r).size() == 1);

  // A damaged record names its file and field.
  const std::string claim = r.out_dir + "/tiny/vqav2/budget_1.00/model.json";
  write_text_file_atomic(claim, "{\"fingerprint\": 7}\n");
  CHECK_THROWS_WITH(run_evaluation(r),
                    Catch::Contains(claim) && Catch::Contains("field 'fingerprint'"));
}

TEST_CASE("AdaLLaVA budgets: a sweep is a curve, lower budget = skipped layers, fewer FLOPs") {
  const std::string out = test::scratch_dir("eval-runner-ada");
  EvaluationRequest r;
  r.configs = {config_for("gqa", 3)};
  r.models = {{test::golden("adallava/ada_L"), "ada_L"}};
  r.vision_tower = test::golden("llava-tiny/clip_vision");
  r.budgets = {0.5, 1.0};
  r.out_dir = out;
  const auto rows = run_evaluation(r);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].adaptive);
  CHECK(rows[0].mean_prefill_flops < rows[1].mean_prefill_flops);
  // The official plans of ada_L on the tiny model (golden infer_L): k0 [4,4,-1,-1], k2 all 4.
  const auto first = [&](const char* b) {
    std::ifstream in(out + "/ada_L/gqa/" + b + "/answers.jsonl");
    std::string line;
    std::getline(in, line);
    return nlohmann::ordered_json::parse(line);
  };
  CHECK(first("budget_0.50")["plan"] == nlohmann::ordered_json({4, 4, -1, -1}));
  CHECK(first("budget_1.00")["plan"] == nlohmann::ordered_json({4, 4, 4, 4}));
  CHECK(first("budget_0.50")["budget"] == 0.5);
}

TEST_CASE("paired comparison: learned minus static plan, question by question, with its interval") {
  auto row = [](const std::string& model, const std::string& checkpoint, const std::string& plan,
                double budget, std::map<std::string, double> scores) {
    ResultRow r;
    r.model = model;
    r.benchmark = "vqav2";
    r.metric = "vqa_accuracy";
    r.value = 0.0;
    r.budget = budget;
    r.checkpoint = checkpoint;
    r.static_plan = plan;
    r.item_scores = std::move(scores);
    return r;
  };
  const std::vector<ResultRow> rows = {
      row("Ada", "ck", "", 0.5, {{"1", 100}, {"2", 100}, {"3", 0}, {"4", 60}}),
      row("Ada", "ck", "", 1.0, {{"1", 100}, {"2", 100}, {"3", 100}, {"4", 100}}),
      // question 5 was answered by the static plan only: not paired
      row("Ada first-k", "ck", "first", 0.5, {{"1", 0}, {"2", 100}, {"3", 0}, {"4", 0}, {"5", 0}}),
      row("Other first-k", "other", "first", 0.5, {{"1", 0}}),  // no learned row of its own
      row("LLaVA, first 4 layers", "", "", 0.5, {{"1", 0}}),    // depth cut: pairs with nothing
  };
  const auto paired = paired_comparisons(rows);
  REQUIRE(paired.size() == 1);
  const auto& c = paired[0];
  CHECK(c.model == "Ada");
  CHECK(c.baseline == "Ada first-k");
  CHECK(c.budget == 0.5);
  CHECK(c.diff.questions == 4);
  // differences 100, 0, 0, 60: mean 40, sample sd sqrt((3600+1600+1600+400)/3), se = sd/2
  CHECK(c.diff.mean == Approx(40.0));
  const double se = std::sqrt((3600.0 + 1600 + 1600 + 400) / 3) / 2;
  CHECK(c.diff.ci_low == Approx(40.0 - 1.96 * se));
  CHECK(c.diff.ci_high == Approx(40.0 + 1.96 * se));
  CHECK(c.diff.first_better == 2);
  CHECK(c.diff.second_better == 0);
  const std::string md = results_markdown(rows);
  CHECK(md.find("## Learned scheduler against static plans, question by question") !=
        std::string::npos);
  CHECK(md.find("| Ada | Ada first-k | vqav2 | 0.50 | 4 | +40.00 |") != std::string::npos);

  // The cost of the budget: each row below 1 against the same checkpoint's learned row at 1;
  // rows without a whole-model row of their own (another checkpoint, the depth cut) pair with
  // nothing, and the whole model is not compared with itself.
  const auto costs = budget_costs(rows);
  REQUIRE(costs.size() == 2);
  CHECK(costs[0].model == "Ada");
  CHECK(costs[0].budget == 0.5);
  CHECK(costs[0].diff.questions == 4);
  CHECK(costs[0].diff.mean == Approx(-35.0));  // 0, 0, -100, -40
  CHECK(costs[0].diff.first_better == 0);
  CHECK(costs[0].diff.second_better == 2);
  CHECK(costs[1].model == "Ada first-k");
  CHECK(costs[1].diff.questions == 4);         // question 5 has no whole-model answer
  CHECK(costs[1].diff.mean == Approx(-75.0));  // -100, 0, -100, -100
  const double se_cost = std::sqrt((625.0 * 3 + 5625) / 3) / 2;
  CHECK(costs[1].diff.ci_low == Approx(-75.0 - 1.96 * se_cost));
  CHECK(costs[1].diff.ci_high == Approx(-75.0 + 1.96 * se_cost));
  CHECK(md.find("## Cost of each budget against the whole model, question by question") !=
        std::string::npos);
  CHECK(md.find("| Ada first-k | vqav2 | 0.50 | 4 | -75.00 |") != std::string::npos);

  // Neither a deadline row nor a static row stands for the whole model, and a deadline row has
  // no budget of its own to cost: placed first, they would change the pairs above if they did.
  auto deadline = row("Ada", "ck", "", 1.0, {{"1", 0}, {"2", 0}, {"3", 0}, {"4", 0}});
  deadline.deadline_ms = 40.0;
  auto deadline_low = deadline;
  deadline_low.budget = 0.5;
  std::vector<ResultRow> with_decoys = {
      deadline, deadline_low, row("Ada first-k", "ck", "first", 1.0, {{"1", 0}, {"2", 0}})};
  with_decoys.insert(with_decoys.end(), rows.begin(), rows.end());
  const auto decoyed = budget_costs(with_decoys);
  REQUIRE(decoyed.size() == 2);
  CHECK(decoyed[0].diff.mean == Approx(-35.0));
  CHECK(decoyed[1].diff.mean == Approx(-75.0));
}

TEST_CASE("eval plot --pool: evaluations of disjoint question sets merge into one comparison") {
  auto row = [](const std::string& model, const std::string& plan, const std::string& benchmark,
                std::optional<double> value, std::map<std::string, double> scores) {
    ResultRow r;
    r.model = model;
    r.adaptive = plan.empty();
    r.benchmark = benchmark;
    r.metric = benchmark == "pope" ? "f1" : "accuracy";
    r.value = value;
    r.budget = 0.5;
    r.checkpoint = "ck";
    r.static_plan = plan;
    r.answered = benchmark == "pope" ? 10 : scores.size();
    r.mean_prefill_flops = benchmark == "pope" ? 1e9 : 2e9;
    r.per_family = {{"color", *value}};
    r.item_scores = std::move(scores);
    return r;
  };
  // Two evaluations (e.g. two suite seeds) with the same question ids "1", "2".
  std::vector<ResultRow> run0 = {
      row("Ada", "", "gqa", 50.0, {{"1", 100}, {"2", 0}}),
      row("Ada first-k", "first", "gqa", 0.0, {{"1", 0}, {"2", 0}}),
      row("Ada", "", "pope", 80.0, {}),
  };
  std::vector<ResultRow> run1 = {
      row("Ada", "", "gqa", 100.0, {{"1", 100}, {"2", 100}}),
      row("Ada first-k", "first", "gqa", 100.0, {{"1", 100}, {"2", 100}}),
      row("Ada", "", "pope", 60.0, {}),
  };
  run1[2].answered = 30;

  // The files keep what pairing needs.
  const auto reread = rows_from_json(results_json(run0), "results.json");
  REQUIRE(reread.size() == 3);
  CHECK(reread[1].static_plan == "first");
  CHECK(reread[1].checkpoint == "ck");
  CHECK(reread[0].item_scores == run0[0].item_scores);
  // A hand-edited file: the error names the file, the entry and the field.
  auto bad = results_json(run0);
  bad["results"][1]["item_scores"] = {{"1", "right"}};
  CHECK_THROWS_WITH(rows_from_json(bad, "results.json"),
                    Catch::Contains("results.json: results[1].item_scores:"));
  bad["results"][1].erase("item_scores");
  bad["results"][1].erase("answered");
  CHECK_THROWS_WITH(rows_from_json(bad, "results.json"),
                    Catch::Contains("results.json: results[1].answered:"));

  // Untagged, the coinciding ids are refused rather than paired across evaluations.
  std::vector<ResultRow> untagged = run0;
  untagged.insert(untagged.end(), run1.begin(), run1.end());
  CHECK_THROWS_WITH(pool_rows(untagged), Catch::Contains("question 1 of Ada (gqa, budget 0.50) "
                                                         "appears in two evaluations"));

  tag_item_ids(run0, "0");
  tag_item_ids(run1, "1");
  std::vector<ResultRow> rows = run0;
  rows.insert(rows.end(), run1.begin(), run1.end());
  // Without pooling, each static row pairs with its own evaluation's learned row (and only its
  // questions), even though the other evaluation's learned row matches it too.
  const auto unpooled = paired_comparisons(rows);
  CHECK(unpooled.size() == 2);
  for (const auto& c : unpooled) CHECK(c.diff.questions == 2);
  // So does the cost of the budget: with a whole-model row in each evaluation, every row below
  // budget 1 is costed against its own evaluation's whole model only.
  std::vector<ResultRow> with_whole = rows;
  for (size_t i : {size_t{0}, size_t{3}}) {
    with_whole.push_back(rows[i]);
    with_whole.back().budget = 1.0;
  }
  const auto unpooled_costs = budget_costs(with_whole);
  CHECK(unpooled_costs.size() == 4);  // Ada and Ada first-k on gqa, in each evaluation
  for (const auto& c : unpooled_costs) CHECK(c.diff.questions == 2);

  const auto pooled = pool_rows(rows);
  REQUIRE(pooled.size() == 3);
  CHECK(pooled[0].model == "Ada");
  CHECK(pooled[0].answered == 4);
  CHECK(*pooled[0].value == Approx(75.0));  // 3 of 4 questions right
  CHECK(pooled[0].per_family.at("color") == Approx(75.0));
  CHECK(*pooled[1].value == Approx(50.0));
  // POPE has no per-question scores: the answered-weighted mean of the two F1s.
  CHECK(pooled[2].answered == 40);
  CHECK(*pooled[2].value == Approx((80.0 * 10 + 60.0 * 30) / 40));
  CHECK(pooled[2].mean_prefill_flops == Approx(1e9));
  const auto paired = paired_comparisons(pooled);
  REQUIRE(paired.size() == 1);
  CHECK(paired[0].diff.questions == 4);
  CHECK(paired[0].diff.mean == Approx(25.0));  // differences 100, 0, 0, 0
  CHECK(paired[0].diff.first_better == 1);
}

TEST_CASE("per-question scores (VQAv2, GQA, TextVQA, ScienceQA) average to the benchmark's score") {
  const std::string out = test::scratch_dir("eval-runner-items");
  EvaluationRequest r;
  r.configs = {config_for("vqav2"), config_for("gqa"), config_for("textvqa"),
               config_for("scienceqa")};
  r.models = {{test::golden(kModel), "tiny"}};
  r.vision_tower = test::golden("llava-tiny/clip_vision");
  r.batch_size = 4;
  r.out_dir = out;
  const auto rows = run_evaluation(r);
  REQUIRE(rows.size() == 4);
  for (const auto& row : rows) {
    INFO(row.benchmark);
    REQUIRE(row.value.has_value());
    // ScienceQA's IMG accuracy counts the questions with an image only.
    if (row.benchmark == "scienceqa") {
      CHECK(row.item_scores.size() < row.answered);
      CHECK(!row.item_scores.empty());
    } else {
      REQUIRE(row.item_scores.size() == row.answered);
    }
    double sum = 0;
    for (const auto& [id, score] : row.item_scores) sum += score;
    CHECK(sum / row.item_scores.size() == Approx(*row.value).margin(1e-9));
  }
  // The per-question details stay out of the scorer's metrics file.
  const auto metrics = read_json_file(out + "/tiny/textvqa/budget_1.00/metrics.json");
  CHECK(!metrics.contains("items"));
  CHECK(metrics.contains("accuracy_percent"));

  // The tiny model reads nothing: give its first TextVQA answer the humans' first answer and
  // that question alone scores above 0.
  const EvalConfig textvqa = config_for("textvqa");
  const std::string answers = out + "/tiny/textvqa/budget_1.00/answers.jsonl";
  std::vector<nlohmann::json> lines;
  std::ifstream in(answers);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(nlohmann::json::parse(line));
  REQUIRE(lines.size() >= 2);
  const std::string first = lines[0]["question_id"];
  bool replaced = false;
  const auto annotations = read_json_file(textvqa.resolve(textvqa.annotations));
  for (const auto& d : annotations["data"]) {
    if (d["image_id"] != first) continue;
    lines[0]["text"] = d["answers"][0];
    replaced = true;
  }
  REQUIRE(replaced);
  std::string edited;
  for (const auto& l : lines) edited += l.dump() + "\n";
  const std::string edited_path = out + "/edited-answers.jsonl";
  write_text_file_atomic(edited_path, edited);
  const auto score = score_answers(textvqa, edited_path);
  REQUIRE(score.item_scores.size() == lines.size());
  const double first_score = score.item_scores.at(scorers::id_text(lines[0]["question_id"]));
  CHECK(first_score > 0);
  REQUIRE(score.value.has_value());
  CHECK(*score.value == Approx(first_score / lines.size()).margin(1e-9));
}
