// Prompt construction per benchmark against LLaVA-1.5's eval scripts, the question readers on
// the synthetic suite, chunking and batch planning, config loading, and input errors.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "eval/runner/base64.h"
#include "eval/runner/batch_plan.h"
#include "eval/runner/eval_config.h"
#include "eval/runner/questions.h"
#include "eval/runner/runner.h"
#include "support/paths.h"
#include "synth_fixture.h"

using namespace adallava;
using namespace adallava::eval;
namespace fs = std::filesystem;

namespace {

const std::string kSystem =
    "A chat between a curious user and an artificial intelligence assistant. The assistant "
    "gives helpful, detailed, and polite answers to the user's questions.";

void write_file(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

EvalConfig synth_config(const std::string& name) {
  auto configs = load_eval_configs(test::source_dir() + "/configs/eval/" + name + ".yaml",
                                   {"data_root=" + test::tiny_synth_suite() + "/eval"});
  REQUIRE(configs.size() == 1);
  return configs[0];
}

}  // namespace

TEST_CASE("loader benchmarks: the question text is the user message, vicuna_v1 around it") {
  EvalItem item;
  item.message =
      "Is there a red star in the image?\nAnswer the question using a single word or phrase.";
  item.image_path = "x.png";
  // model_vqa_loader: qs = "<image>\n" + line["text"]; conv vicuna_v1; no trailing space.
  CHECK(build_eval_prompt(item, "vicuna_v1") ==
        kSystem +
            " USER: <image>\nIs there a red star in the image?\nAnswer the question using a "
            "single word or phrase. ASSISTANT:");
  CHECK(build_eval_prompt(item, "llava_v1").find("curious human") != std::string::npos);
}

TEST_CASE("ScienceQA prompt as model_vqa_science --single-pred-prompt builds it") {
  const std::string value =
      "<image>\nContext: A bird on a branch.\nWhich animal is shown?\nA. bird\nB. fish";
  const auto p = scienceqa_prompt(value, true, true);
  CHECK(p.message ==
        "Context: A bird on a branch.\nWhich animal is shown?\nA. bird\nB. fish\nAnswer with the "
        "option's letter from the given choices directly.");
  CHECK(p.prompt_field ==
        "<image>\nContext: A bird on a branch.\nWhich animal is shown?\nA. bird\nB. fish\nAnswer "
        "with the option's letter from the given choices directly.");
  // Text-only: no image tag anywhere; without single-pred the suffix is absent.
  const auto text_only =
      scienceqa_prompt("  What color is snow?\nA. black\nB. white ", false, false);
  CHECK(text_only.message == "What color is snow?\nA. black\nB. white");
  CHECK(text_only.prompt_field == text_only.message);
  EvalItem item;
  item.message = text_only.message;
  CHECK(build_eval_prompt(item, "vicuna_v1") ==
        kSystem + " USER: What color is snow?\nA. black\nB. white ASSISTANT:");
}

TEST_CASE("MMBench prompt: hint, options until the first missing one, letter instruction") {
  auto p = mmbench_prompt("How many crosses are there?", "", {"2", "3", "1"}, true);
  CHECK(p.prompt_field == "How many crosses are there?\nA. 2\nB. 3\nC. 1");
  CHECK(p.message ==
        p.prompt_field + "\nAnswer with the option's letter from the given choices directly.");
  p = mmbench_prompt("Q?", "Look closely.", {"x", "y"}, false);
  CHECK(p.prompt_field == "Look closely.\nQ?\nA. x\nB. y");
  CHECK(p.message == p.prompt_field);
  CHECK(mmbench_prompt("Q?", "nan", {"x"}, false).prompt_field == "Q?\nA. x");
  CHECK(mmbench_prompt("Q?", "None", {"x"}, false).prompt_field == "Q?\nA. x");
}

TEST_CASE("readers on the synthetic suite: every benchmark, every item") {
  const std::map<std::string, size_t> expected = {{"vqav2", 18},    {"gqa", 12},  {"textvqa", 6},
                                                  {"scienceqa", 8}, {"pope", 72}, {"mme", 20},
                                                  {"mmbench", 28}};
  for (const auto& [name, count] : expected) {
    INFO(name);
    const auto items = read_benchmark_items(synth_config(name));
    CHECK(items.size() == count);
    for (size_t i = 0; i < items.size(); ++i) {
      CHECK(items[i].index == i);
      CHECK(!items[i].message.empty());
    }
  }
  const auto vqa = read_benchmark_items(synth_config("vqav2"));
  CHECK(vqa[0].question_id == 1000);
  CHECK(vqa[0].category == "spatial");
  CHECK(fs::exists(vqa[0].image_path));
  CHECK(vqa[0].message == vqa[0].prompt_field);

  const auto gqa = read_benchmark_items(synth_config("gqa"));
  CHECK(gqa[0].question_id.is_string());  // GQA ids stay strings

  const auto sqa = read_benchmark_items(synth_config("scienceqa"));
  CHECK(sqa[0].question_id == "1");
  CHECK(sqa[0].prompt_field ==
        "<image>\nWhat color is the cross?\nA. green\nB. yellow\nC. red\nAnswer with the "
        "option's letter from the given choices directly.");
  size_t text_only = 0;
  for (const auto& item : sqa) {
    if (item.has_image()) continue;
    ++text_only;
    CHECK(item.prompt_field.find("<image>") == std::string::npos);
  }
  CHECK(text_only == 1);

  const auto mmb = read_benchmark_items(synth_config("mmbench"));
  CHECK(mmb[0].question_id == 0);
  CHECK(mmb[1].question_id == 1000000);  // rotated copies are their own rows
  CHECK(mmb[0].round_id == 0);
  CHECK(mmb[0].prompt_field == "How many crosses are there?\nA. 2\nB. 3\nC. 1\nD. 5");
  CHECK(mmb[1].prompt_field == "How many crosses are there?\nA. 3\nB. 1\nC. 5\nD. 2");
  CHECK(mmb[0].options == nlohmann::json({"2", "3", "1", "5"}));
  CHECK(mmb[0].option_chars == nlohmann::json({"A", "B", "C", "D"}));
  CHECK(!mmb[0].image_base64.empty());
  CHECK(mmb[0].category == "count");

  // --all-rounds: every row once per rotation, options and letters rotated together.
  auto cfg = synth_config("mmbench");
  const auto rounds = read_mmbench_questions(cfg.resolve(cfg.questions), true, /*all_rounds=*/true);
  CHECK(rounds[1].round_id == 1);
  CHECK(rounds[1].question_id == 0);
  CHECK(rounds[1].options == nlohmann::json({"3", "1", "5", "2"}));
  CHECK(rounds[1].option_chars == nlohmann::json({"B", "C", "D", "A"}));
  CHECK(rounds[1].prompt_field == "How many crosses are there?\nA. 3\nB. 1\nC. 5\nD. 2");
}

TEST_CASE("get_chunk is LLaVA's split_list/get_chunk") {
  // Python: chunk_size = ceil(len/n); [lst[i:i+cs] for i in range(0, len, cs)][k]
  auto python_chunk = [](size_t len, size_t n, size_t k) {
    const size_t cs = (len + n - 1) / n;
    std::vector<std::pair<size_t, size_t>> chunks;
    for (size_t i = 0; i < len; i += cs) chunks.emplace_back(i, std::min(len, i + cs));
    return k < chunks.size() ? chunks[k] : std::make_pair(len, len);
  };
  for (size_t len : {1, 5, 7, 8, 10, 100}) {
    for (size_t n : {1, 2, 3, 4, 8}) {
      size_t covered = 0;
      for (size_t k = 0; k < n; ++k) {
        const auto r = get_chunk(len, n, k);
        const auto expected = python_chunk(len, n, k);
        CHECK(r.begin == expected.first);
        CHECK(r.end == expected.second);
        covered += r.size();
      }
      CHECK(covered == len);
    }
  }
  CHECK(error_of([] { get_chunk(10, 2, 2); }).find("--chunk-idx") != std::string::npos);
}

TEST_CASE("batch plan: every question once, windows sorted by length, batch size kept") {
  std::vector<PlanInput> items;
  for (size_t i = 0; i < 37; ++i) items.push_back({i % 5 != 0, (i * 7919) % 13});
  const auto batches = plan_batches(items, 4);
  std::multiset<size_t> seen;
  for (const auto& b : batches) {
    CHECK(b.size() <= 4);
    for (size_t i : b) seen.insert(i);
    // A batch never leaves its window of 16 questions.
    CHECK(b.front() / 16 == b.back() / 16);
  }
  CHECK(seen.size() == 37);
  CHECK(std::set<size_t>(seen.begin(), seen.end()).size() == 37);
  // Within the first window: image items first, lengths non-decreasing.
  std::vector<size_t> first;
  for (size_t b = 0; b < 4; ++b) first.insert(first.end(), batches[b].begin(), batches[b].end());
  for (size_t i = 1; i < first.size(); ++i) {
    const auto &a = items[first[i - 1]], &c = items[first[i]];
    CHECK((a.has_image > c.has_image ||
           (a.has_image == c.has_image && a.prompt_tokens <= c.prompt_tokens)));
  }
}

TEST_CASE("base64 decoding") {
  const auto bytes = base64_decode("TWFu\nTWE=", "t");
  CHECK(std::string(bytes.begin(), bytes.end()) == "ManMa");
  CHECK(base64_decode("", "t").empty());
  CHECK(error_of([] { base64_decode("TW!u", "row 3"); }).find("row 3") != std::string::npos);
}

TEST_CASE("configs: every shipped config loads; suite expands; overrides apply") {
  const std::string dir = test::source_dir() + "/configs/eval/";
  const auto all = load_eval_configs(dir + "all.yaml", {"batch_size=3"});
  REQUIRE(all.size() == 7);
  const std::vector<std::string> order = {"vqav2", "gqa", "textvqa", "scienceqa",
                                          "pope",  "mme", "mmbench"};
  for (size_t i = 0; i < 7; ++i) {
    CHECK(all[i].benchmark == order[i]);
    CHECK(all[i].batch_size == 3);
    CHECK(all[i].conv_mode == "vicuna_v1");
  }
  CHECK(all[3].single_pred_prompt);
  CHECK(all[3].max_new_tokens == 1024);
  CHECK(all[6].max_new_tokens == 1024);
  CHECK(all[0].max_new_tokens == 128);
  CHECK(all[0].resolve(all[0].questions) ==
        "playground/data/eval/vqav2/llava_vqav2_mscoco_test-dev2015.jsonl");
  CHECK(all[0].resolve("/abs/file") == "/abs/file");
}

TEST_CASE("errors name the file and line") {
  const std::string dir = test::scratch_dir("eval-errors");
  // Unknown benchmark in a config.
  write_file(dir + "/bad.yaml", "benchmark: vqa3\nquestions: q.jsonl\nimage_folder: img\n");
  auto msg = error_of([&] { load_eval_configs(dir + "/bad.yaml"); });
  CHECK(msg.find("bad.yaml") != std::string::npos);
  CHECK(msg.find("unknown benchmark \"vqa3\"") != std::string::npos);
  CHECK(msg.find("vqav2, gqa") != std::string::npos);
  // Unknown key.
  write_file(dir + "/typo.yaml", "benchmark: gqa\nquestion: q.jsonl\n");
  msg = error_of([&] { load_eval_configs(dir + "/typo.yaml"); });
  CHECK(msg.find("typo.yaml:2") != std::string::npos);

  write_file(dir + "/img/a.png", "x");
  // Missing image: question file and line.
  write_file(dir + "/q1.jsonl",
             "{\"question_id\": 1, \"image\": \"a.png\", \"text\": \"Q?\"}\n"
             "{\"question_id\": 2, \"image\": \"missing.png\", \"text\": \"Q?\"}\n");
  msg = error_of([&] { read_question_jsonl(dir + "/q1.jsonl", dir + "/img"); });
  CHECK(msg.find("q1.jsonl:2") != std::string::npos);
  CHECK(msg.find("missing.png") != std::string::npos);
  // Malformed line.
  write_file(
      dir + "/q2.jsonl",
      "{\"question_id\": 1, \"image\": \"a.png\", \"text\": \"Q?\"}\n{\"question_id\": 2,\n");
  msg = error_of([&] { read_question_jsonl(dir + "/q2.jsonl", dir + "/img"); });
  CHECK(msg.find("q2.jsonl:2") != std::string::npos);
  // Missing field.
  write_file(dir + "/q3.jsonl", "{\"question_id\": 1, \"image\": \"a.png\"}\n");
  msg = error_of([&] { read_question_jsonl(dir + "/q3.jsonl", dir + "/img"); });
  CHECK(msg.find("q3.jsonl:1") != std::string::npos);
  CHECK(msg.find("\"text\"") != std::string::npos);
  // ScienceQA entry with a missing image.
  write_file(
      dir + "/sqa.json",
      R"([{"id": "1", "image": "1/image.png", "conversations": [{"from": "human", "value": "<image>\nQ?\nA. x"}]}])");
  msg = error_of([&] { read_scienceqa_questions(dir + "/sqa.json", dir + "/img", true); });
  CHECK(msg.find("sqa.json: entry 0") != std::string::npos);
  CHECK(msg.find("1/image.png") != std::string::npos);
  // MMBench with a bad index.
  write_file(dir + "/mmb.tsv", "index\tquestion\thint\tA\tB\timage\nx1\tQ?\t\ta\tb\tTWFu\n");
  msg = error_of([&] { read_mmbench_questions(dir + "/mmb.tsv", true, false); });
  CHECK(msg.find("mmb.tsv:2") != std::string::npos);
}
