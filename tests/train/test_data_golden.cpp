// Golden ids and labels (../shared/golden/text, upstream preprocess_v1 / preprocess_plain)
// through the training data path: the JSON and JSON-lines readers, tokenize_record and
// InstructionDataset, whose validation must flag exactly upstream's mismatching samples.
#include <catch2/catch.hpp>

#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/files.h"
#include "data_fixture.h"
#include "train/data/dataset.h"

using namespace adallava;
using namespace adallava::test;
using namespace adallava::train;

namespace {

const nlohmann::json& golden_text() {
  static const nlohmann::json data = read_json_file(golden("text/golden.json"));
  return data;
}

const text::Tokenizer& llama_tokenizer() {
  static const text::Tokenizer t = text::Tokenizer::load(golden("text/tokenizer.model"));
  return t;
}

std::vector<int64_t> ids_of(const nlohmann::json& a) {
  return a.get<std::vector<int64_t>>();
}

// The golden conversations as JSON lines (with a blank line, which is skipped).
std::string as_json_lines(const nlohmann::json& list) {
  std::string out;
  for (size_t i = 0; i < list.size(); ++i) {
    out += list[i].dump() + "\n";
    if (i == 3) out += "\n";
  }
  return out;
}

// Every image the conversations name, as a real file.
std::string image_folder_for(const nlohmann::json& list, const std::string& dir) {
  int seed = 0;
  for (const auto& r : list)
    if (r.contains("image")) write_image(dir + "/" + r["image"].get<std::string>(), 40, 30, ++seed);
  return dir;
}

// Compares the dataset path's output for every record with golden; returns matches.
int compare_all(const RecordFile& file, const std::string& tmpl, int* compared) {
  const auto& expected_all = golden_text().at("conversations");
  DatasetOptions options;
  options.conv_template = tmpl;
  int passed = 0;
  *compared = 0;
  for (const auto& record : file.records) {
    const auto& expected = expected_all.at(record.index).at(tmpl == "plain" ? "plain" : "v1");
    if (expected.is_null() || expected.contains("error")) continue;
    ++*compared;
    INFO("record " << record.index << " id " << record.sample.id << " template " << tmpl);
    const auto t = tokenize_record(record.sample, llama_tokenizer(), options);
    const bool ok = t.supervised.prompt == expected.at("prompt").get<std::string>() &&
                    t.supervised.input_ids == ids_of(expected.at("input_ids")) &&
                    t.supervised.labels == ids_of(expected.at("labels")) &&
                    t.supervised.mismatch == expected.at("tokenization_mismatch").get<bool>();
    CHECK(ok);
    // Golden samples are far below max_length: nothing is cut.
    CHECK(t.tokens.ids == t.supervised.input_ids);
    CHECK(t.tokens.labels == t.supervised.labels);
    passed += ok;
  }
  return passed;
}

}  // namespace

TEST_CASE("golden ids and labels through the JSON and JSON-lines readers", "[train][data]") {
  const auto list = read_json_file(golden("text/conversations.json"));
  REQUIRE(list.size() == 30);
  const std::string dir = scratch_dir("train_data_golden");
  const std::string json_path = dir + "/conversations.json";
  const std::string jsonl_path = dir + "/conversations.jsonl";
  write_file(json_path, list.dump(1));
  write_file(jsonl_path, as_json_lines(list));

  const auto json_file = read_record_file(json_path);
  const auto jsonl_file = read_record_file(jsonl_path);
  CHECK_FALSE(json_file.json_lines);
  CHECK(jsonl_file.json_lines);
  REQUIRE(json_file.records.size() == 30);
  REQUIRE(jsonl_file.records.size() == 30);
  CHECK(json_file.problems.empty());
  CHECK(jsonl_file.problems.empty());
  // JSON lines keep the file line (the blank line after record 3 shifts the rest by one).
  CHECK(jsonl_file.records[3].line == 4);
  CHECK(jsonl_file.records[4].line == 6);
  CHECK(json_file.records[4].line == 0);

  int compared = 0;
  for (const auto* file : {&json_file, &jsonl_file}) {
    CHECK(compare_all(*file, "vicuna_v1", &compared) == 30);
    CHECK(compared == 30);
    CHECK(compare_all(*file, "plain", &compared) == 20);
    CHECK(compared == 20);
  }
}

TEST_CASE("dataset validation flags exactly upstream's mismatching samples", "[train][data]") {
  const auto list = read_json_file(golden("text/conversations.json"));
  const std::string dir = scratch_dir("train_data_golden_dataset");
  write_file(dir + "/data.jsonl", as_json_lines(list));
  DatasetOptions options;
  options.data_path = dir + "/data.jsonl";
  options.image_folder = image_folder_for(list, dir + "/images");
  options.conv_template = "vicuna_v1";

  // check: every problem, one pass.
  int64_t total = 0;
  const auto problems = check_dataset(options, llama_tokenizer(), true, &total);
  CHECK(total == 30);
  std::vector<std::string> flagged;
  for (const auto& p : problems) {
    flagged.push_back(p.id);
    CHECK_THAT(p.problem, Catch::Contains("tokenization mismatch"));
    CHECK(p.line > 0);
  }
  // v015 (literal </s>), v017 (empty answer), v022 (literal ASSISTANT:), as upstream warns.
  CHECK(flagged == std::vector<std::string>{"v015", "v017", "v022"});

  // fail policy: the first problem with file, line, index and id, and the count of the rest.
  const std::string message =
      error_of([&] { InstructionDataset::open(options, llama_tokenizer()); });
  CHECK_THAT(message, Catch::Contains(options.data_path + ":16: record 14 (id v015)") &&
                          Catch::Contains("tokenization mismatch") &&
                          Catch::Contains("2 more problems"));

  // skip policy: the other 27, each tokenized exactly as golden.
  options.bad_record_policy = "skip";
  const auto ds = InstructionDataset::open(options, llama_tokenizer());
  REQUIRE(ds->size() == 27);
  CHECK(ds->skipped().size() == 3);
  const auto& expected_all = golden_text().at("conversations");
  int matched = 0;
  for (int64_t i = 0; i < ds->size(); ++i) {
    const auto t = ds->tokenize(i);
    const auto& expected = expected_all.at(ds->record(i).index).at("v1");
    matched += t.tokens.ids == ids_of(expected.at("input_ids")) &&
               t.tokens.labels == ids_of(expected.at("labels"));
    // LLaVA's modality length: words of all turns, negative without an image.
    int64_t words = 0;
    for (const auto& turn : ds->record(i).sample.turns) {
      std::istringstream stream(turn.value);
      std::string w;
      while (stream >> w) ++words;
    }
    CHECK(ds->modality_lengths()[i] == (ds->has_image(i) ? words : -words));
  }
  CHECK(matched == 27);

  // plain (stage 1): text-only records and the 5 upstream assertion failures are problems.
  options.conv_template = "plain";
  const auto plain_problems = check_dataset(options, llama_tokenizer(), false);
  std::set<std::string> plain_flagged;
  for (const auto& p : plain_problems) plain_flagged.insert(p.id);
  int expected_flags = 0;
  for (const auto& e : expected_all)
    expected_flags += e.at("plain").is_null() || e.at("plain").contains("error");
  CHECK(static_cast<int>(plain_flagged.size()) == expected_flags);
  CHECK(expected_flags == 10);
}

TEST_CASE("truncation: collator cut, post-splice cut and truncated-to-no-answer", "[train][data]") {
  text::InstructionSample sample;
  sample.id = "long";
  sample.image = "x.png";
  std::string question;
  for (int i = 0; i < 60; ++i) question += "word ";
  sample.turns = {{"human", "<image>\n" + question}, {"gpt", "Yes it is"}};
  DatasetOptions options;
  options.image_tokens = 10;
  const auto full = tokenize_record(sample, llama_tokenizer(), options);
  const auto n = static_cast<int64_t>(full.supervised.input_ids.size());
  REQUIRE(n > 100);
  CHECK(full.spliced_length == n - 1 + 10);
  CHECK(full.supervised_tokens == 4);  // ▁Yes ▁it ▁is </s>

  // A limit that keeps the image but cuts text: spliced length exactly max_length.
  options.max_length = n;  // collator keeps all n ids; splicing adds 9 -> 9 text tokens go
  const auto cut = tokenize_record(sample, llama_tokenizer(), options);
  CHECK(static_cast<int64_t>(cut.tokens.ids.size()) == n - 9);
  CHECK(cut.spliced_length == n);
  CHECK(cut.supervised_tokens == 0);
  CHECK(cut.image_placeholders == 1);
  DataRecord record;
  record.sample = sample;
  const auto problems = record_problems(record, llama_tokenizer(), options, false);
  bool truncated = false;
  for (const auto& p : problems)
    truncated |= p.find("truncated to no answer tokens") != std::string::npos;
  CHECK(truncated);
}
