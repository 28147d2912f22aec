// `adallava data check` on a deliberately broken dataset: every planted problem found in one
// pass, named by line, index and id; `data tokenize` output; the fail/skip policies.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>

#include <nlohmann/json.hpp>

#include "data_fixture.h"
#include "train/data/dataset.h"

using namespace adallava;
using namespace adallava::test;
using namespace adallava::train;

namespace {

std::string record(const std::string& id, const std::string& image,
                   const std::vector<std::pair<std::string, std::string>>& turns) {
  nlohmann::json j;
  j["id"] = id;
  if (!image.empty()) j["image"] = image;
  j["conversations"] = nlohmann::json::array();
  for (const auto& [from, value] : turns)
    j["conversations"].push_back({{"from", from}, {"value", value}});
  return j.dump();
}

struct BrokenDataset {
  std::string dir, data, images, tokenizer;
};

// Line (1-based) -> planted problem; lines 1 and 8 are good records.
BrokenDataset make_broken_dataset() {
  BrokenDataset b;
  b.dir = scratch_dir("train_data_check");
  b.images = b.dir + "/images";
  b.data = b.dir + "/broken.jsonl";
  b.tokenizer = golden("text/tokenizer.model");
  write_image(b.images + "/good.png", 32, 24, 1);
  write_file(b.images + "/corrupt.jpg", "this is not a JPEG");
  std::string long_question;
  for (int i = 0; i < 80; ++i) long_question += "word ";
  std::string lines;
  lines +=
      record("good-image", "good.png", {{"human", "What is <image> this?"}, {"gpt", "A square."}}) +
      "\n";
  lines += R"({"id": "broken", "conversations": [{"from": "human", "value": "hi"}, )"
           "\n";
  lines += record("no-file", "missing.png", {{"human", "<image>\nQ"}, {"gpt", "A"}}) + "\n";
  lines += record("bad-bytes", "corrupt.jpg", {{"human", "<image>\nQ"}, {"gpt", "A"}}) + "\n";
  lines +=
      record("two-humans", "good.png", {{"human", "<image>\nQ1"}, {"human", "Q2"}, {"gpt", "A"}}) +
      "\n";
  lines +=
      record("too-long", "good.png", {{"human", "<image>\n" + long_question}, {"gpt", "A"}}) + "\n";
  lines += record("robot", "", {{"human", "Q"}, {"robot", "A"}}) + "\n";
  lines += record("good-text", "", {{"human", "Hello?"}, {"gpt", "Hi."}}) + "\n";
  lines += R"({"id": "no-turns-field"})"
           "\n";
  write_file(b.data, lines);
  return b;
}

std::string check_args(const BrokenDataset& b) {
  return "data check --data " + b.data + " --image-folder " + b.images + " --tokenizer " +
         b.tokenizer + " --max-length 96 --image-tokens 16";
}

}  // namespace

TEST_CASE("data check finds every planted problem in one pass", "[train][data][cli]") {
  const auto b = make_broken_dataset();
  const auto r = run_adallava(check_args(b) + " --json");
  INFO(r.output);
  CHECK(r.code == 1);
  const auto report = nlohmann::json::parse(r.output);
  CHECK(report["records"] == 9);
  CHECK(report["ok"] == false);
  std::map<int64_t, std::string> by_line;
  for (const auto& p : report["problems"])
    by_line[p["line"].get<int64_t>()] += p["problem"].get<std::string>() + ";";
  CHECK(by_line.count(1) == 0);
  CHECK(by_line.count(8) == 0);
  CHECK_THAT(by_line[2], Catch::Contains("malformed JSON"));
  CHECK_THAT(by_line[3], Catch::Contains("image file not found") && Catch::Contains("missing.png"));
  CHECK_THAT(by_line[4], Catch::Contains("cannot be decoded") && Catch::Contains("corrupt.jpg"));
  CHECK_THAT(by_line[5], Catch::Contains("do not alternate") && Catch::Contains("turn 1"));
  CHECK_THAT(by_line[6], Catch::Contains("truncated to no answer tokens"));
  CHECK_THAT(by_line[7], Catch::Contains("unknown role 'robot'"));
  CHECK_THAT(by_line[9], Catch::Contains("conversations"));
  CHECK(by_line.size() == 7);
  CHECK(report["bad_records"] == 7);
  // Records are named by index and id too.
  for (const auto& p : report["problems"]) {
    if (p["line"] == 3) {
      CHECK(p["index"] == 2);
      CHECK(p["id"] == "no-file");
      CHECK_THAT(p["message"].get<std::string>(),
                 Catch::Contains(b.data + ":3: record 2 (id no-file)"));
    }
  }

  // Text output: one line per problem and a summary.
  const auto text = run_adallava(check_args(b));
  CHECK(text.code == 1);
  CHECK_THAT(text.output,
             Catch::Contains(b.data + ":7: record 6 (id robot): turn 1 has unknown role"));
  CHECK_THAT(text.output, Catch::Contains("9 record(s), 7 problem(s) in 7 record(s)"));

  // A clean file passes with exit 0.
  write_file(b.dir + "/clean.json",
             "[" + record("ok", "good.png", {{"human", "<image>\nQ"}, {"gpt", "A"}}) + "]");
  const auto clean = run_adallava("data check --data " + b.dir + "/clean.json --image-folder " +
                                  b.images + " --tokenizer " + b.tokenizer);
  CHECK(clean.code == 0);
  CHECK_THAT(clean.output, Catch::Contains("1 record(s), 0 problem(s)"));
}

TEST_CASE("data tokenize prints prompt, ids, labels and pieces of chosen records",
          "[train][data][cli]") {
  const auto b = make_broken_dataset();
  const auto r = run_adallava("data tokenize --data " + b.data + " --image-folder " + b.images +
                              " --tokenizer " + b.tokenizer + " --index 0,7 --json");
  INFO(r.output);
  CHECK(r.code == 0);
  const auto out = nlohmann::json::parse(r.output);
  REQUIRE(out.size() == 2);
  const auto file = read_record_file(b.data);
  const auto& tok = text::Tokenizer::load(b.tokenizer);
  DatasetOptions options;
  for (size_t k = 0; k < 2; ++k) {
    const auto& rec = *std::find_if(
        file.records.begin(), file.records.end(),
        [&](const DataRecord& d) { return d.index == out[k]["index"].get<int64_t>(); });
    const auto t = tokenize_record(rec.sample, tok, options);
    CHECK(out[k]["prompt"] == t.supervised.prompt);
    CHECK(out[k]["input_ids"].get<std::vector<int64_t>>() == t.supervised.input_ids);
    CHECK(out[k]["labels"].get<std::vector<int64_t>>() == t.supervised.labels);
    CHECK(out[k]["pieces"].get<std::vector<std::string>>() == tok.pieces(t.supervised.input_ids));
    CHECK(out[k]["problems"].empty());
  }
  CHECK(out[0]["id"] == "good-image");
  // "<image>" moved to the front, as LLaVA's preprocess_multimodal does.
  CHECK_THAT(out[0]["prompt"].get<std::string>(),
             Catch::Contains("USER: <image>\nWhat is  this? ASSISTANT: A square.</s>"));
  CHECK(out[0]["input_ids"][0] == 1);  // <s>

  // By id, plain text; a bad record reports its problem and exits 1.
  const auto by_id = run_adallava("data tokenize --data " + b.data + " --tokenizer " + b.tokenizer +
                                  " --image-folder " + b.images + " --id robot");
  CHECK(by_id.code == 1);
  CHECK_THAT(by_id.output, Catch::Contains("problem: turn 1 has unknown role 'robot'"));
  const auto text = run_adallava("data tokenize --data " + b.data + " --tokenizer " + b.tokenizer +
                                 " --image-folder " + b.images + " --id good-text");
  CHECK(text.code == 0);
  CHECK_THAT(text.output, Catch::Contains("prompt:\n") && Catch::Contains("input_ids (") &&
                              Catch::Contains("labels    (") && Catch::Contains("pieces: <s>"));
  const auto missing = run_adallava("data tokenize --data " + b.data + " --tokenizer " +
                                    b.tokenizer + " --index 99");
  CHECK(missing.code == 1);
  CHECK_THAT(missing.output, Catch::Contains("no record 99"));
}

TEST_CASE("bad_record_policy: fail names the record, skip drops and counts", "[train][data]") {
  const auto b = make_broken_dataset();
  const auto tok = text::Tokenizer::load(b.tokenizer);
  DatasetOptions options;
  options.data_path = b.data;
  options.image_folder = b.images;
  options.max_length = 96;
  options.image_tokens = 16;
  CHECK_THAT(error_of([&] { InstructionDataset::open(options, tok); }),
             Catch::Contains(b.data + ":2: record 1") && Catch::Contains("malformed JSON") &&
                 Catch::Contains("more problems"));
  options.bad_record_policy = "skip";
  const auto ds = InstructionDataset::open(options, tok);
  // open() checks existence only: the undecodable image is found when loading (see loader test).
  REQUIRE(ds->size() == 3);
  CHECK(ds->record(0).sample.id == "good-image");
  CHECK(ds->record(1).sample.id == "bad-bytes");
  CHECK(ds->record(2).sample.id == "good-text");
  CHECK(ds->skipped().size() == 6);
  CHECK_THAT(
      error_of([&] { ds->load_image(1); }),
      Catch::Contains(b.data + ":4: record 3 (id bad-bytes)") && Catch::Contains("corrupt.jpg"));
}

TEST_CASE("data check --config finds the image size in the recipe's vision tower",
          "[train][data][cli]") {
  // A stage-1 style recipe: no model.init and no vision sizes in model.arch, only the tower's
  // directory (golden CLIP: 112 px, patch 14 -> 64 image positions).
  const std::string dir = scratch_dir("train_data_check_tower");
  write_image(dir + "/images/good.png", 32, 24, 1);
  write_file(
      dir + "/train.jsonl",
      record("good", "good.png", {{"human", "<image>\nWhat is it?"}, {"gpt", "A square."}}) + "\n");
  const std::string recipe = dir + "/recipe.yaml";
  write_file(recipe, "model:\n  vision_tower: " + golden("llava-tiny/clip_vision") +
                         "\n  tokenizer: " + golden("text/tokenizer.model") +
                         "\n  conv_template: plain\n  arch:\n    llm_hidden_size: 64\n"
                         "    llm_layers: 1\n    llm_heads: 2\n    llm_kv_heads: 2\n"
                         "    llm_mlp_dim: 128\n    max_position_embeddings: 256\n"
                         "data:\n  train: " +
                         dir + "/train.jsonl\n  image_folder: " + dir +
                         "/images\n  max_length: 256\n"
                         "optimizer:\n  lr: 1e-3\ncheckpointing:\n  output_dir: " +
                         dir + "/run\n");
  const auto check = run_adallava("data check --config " + recipe);
  INFO(check.output);
  CHECK(check.code == 0);
  CHECK_THAT(check.output, Catch::Contains("1 record(s), 0 problem(s)"));
  const auto tok = run_adallava("data tokenize --config " + recipe + " --index 0 --json");
  INFO(tok.output);
  REQUIRE(tok.code == 0);
  const auto out = nlohmann::json::parse(tok.output);
  REQUIRE(out.size() == 1);
  CHECK(out[0]["spliced_length"].get<int>() == out[0]["num_tokens"].get<int>() - 1 + 64);

  SECTION("section.key=value overrides apply to the recipe, as train takes them") {
    // 64 image positions leave no room for the answer in 40: the record is cut to nothing.
    const auto cut = run_adallava("data check --config " + recipe + " data.max_length=40");
    INFO(cut.output);
    CHECK(cut.code != 0);
    CHECK_THAT(cut.output, Catch::Contains("1 record(s), 1 problem(s)"));
    const auto unknown = run_adallava("data check --config " + recipe + " data.max_lenght=40");
    CHECK(unknown.code != 0);
    CHECK_THAT(unknown.output, Catch::Contains("max_lenght"));
    const auto stray = run_adallava("data check --config " + recipe + " max_length");
    CHECK(stray.code != 0);
    CHECK_THAT(stray.output, Catch::Contains("'max_length' is neither an option nor"));
    const auto lone = run_adallava("data check --data " + dir + "/train.jsonl --tokenizer " +
                                   golden("text/tokenizer.model") + " data.max_length=40");
    CHECK(lone.code != 0);
    CHECK_THAT(lone.output, Catch::Contains("needs --config RECIPE"));
  }
}
