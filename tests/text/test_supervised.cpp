// Training labels (preprocess_v1 / preprocess_plain) vs golden/text conversations.
#include <catch2/catch.hpp>

#include <fstream>

#include "common/error.h"
#include "data/text/conversation.h"
#include "data/text/instruction_data.h"
#include "common/py_text.h"
#include "data/text/supervised.h"
#include "golden_text.h"

using adallava::Error;
using namespace adallava::text;
using namespace adallava::test;
namespace py = adallava::py;

namespace {

std::vector<Turn> turns_of(const nlohmann::json& array) {
  std::vector<Turn> turns;
  for (const auto& t : array) turns.push_back({t.at("from"), t.at("value")});
  return turns;
}

bool same_turns(const std::vector<Turn>& a, const std::vector<Turn>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].from != b[i].from || a[i].value != b[i].value) return false;
  }
  return true;
}

// Compares one RESULT object; returns whether everything matched.
bool check_result(const SupervisedSample& sample, const nlohmann::json& expected) {
  const std::string stdout_text = sample.warning.empty() ? "" : sample.warning + "\n";
  CHECK(sample.prompt == expected.at("prompt").get<std::string>());
  CHECK(sample.input_ids == ids_of(expected.at("input_ids")));
  CHECK(sample.labels == ids_of(expected.at("labels")));
  CHECK(sample.mismatch == expected.at("tokenization_mismatch").get<bool>());
  CHECK(stdout_text == expected.at("stdout").get<std::string>());
  CHECK(llama_tokenizer().pieces(sample.input_ids) ==
        expected.at("pieces").get<std::vector<std::string>>());
  return sample.prompt == expected.at("prompt").get<std::string>() &&
         sample.input_ids == ids_of(expected.at("input_ids")) &&
         sample.labels == ids_of(expected.at("labels")) &&
         sample.mismatch == expected.at("tokenization_mismatch").get<bool>() &&
         stdout_text == expected.at("stdout").get<std::string>();
}

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

}  // namespace

TEST_CASE("all 30 golden conversations: v1 and plain prompts, ids, labels, errors",
          "[text][supervised]") {
  const auto samples = load_instruction_data(golden("text/conversations.json"));
  const auto& expected_all = text_golden().at("conversations");
  REQUIRE(samples.size() == 30);
  REQUIRE(expected_all.size() == 30);
  const auto& tok = llama_tokenizer();

  int v1_passed = 0, plain_passed = 0, plain_total = 0, errors_passed = 0, errors_total = 0;
  int multimodal_passed = 0, mismatches = 0;
  for (size_t i = 0; i < samples.size(); ++i) {
    const auto& sample = samples[i];
    const auto& expected = expected_all[i];
    INFO("sample " << sample.id);
    REQUIRE(sample.id == expected.at("id").get<std::string>());
    const bool has_image = sample.image.has_value();
    REQUIRE(has_image == expected.at("has_image").get<bool>());

    const auto& v1 = expected.at("v1");
    const auto& after = v1.at("conversations_after_preprocess_multimodal");
    if (has_image) {
      const bool ok = same_turns(preprocess_multimodal(sample.turns), turns_of(after));
      CHECK(ok);
      multimodal_passed += ok;
    } else {
      CHECK(after.is_null());
    }

    const auto v1_sample = build_supervised_sample(sample.turns, has_image, tok, "v1", sample.id);
    v1_passed += check_result(v1_sample, v1);
    mismatches += v1_sample.mismatch;
    // Sanity on the label layout the model relies on.
    REQUIRE(v1_sample.labels.size() == v1_sample.input_ids.size());
    const auto supervised = std::count_if(v1_sample.labels.begin(), v1_sample.labels.end(),
                                          [](int64_t l) { return l != kIgnoreIndex; });
    CHECK(supervised == v1.at("num_supervised_tokens").get<int64_t>());

    const auto& plain = expected.at("plain");
    if (plain.is_null()) {
      CHECK_FALSE(has_image);
      continue;
    }
    if (plain.contains("error")) {
      ++errors_total;
      const std::string message = error_of(
          [&] { build_supervised_sample(sample.turns, has_image, tok, "plain", sample.id); });
      CHECK_THAT(message, Catch::Contains("sample " + sample.id));
      errors_passed += message.find("sample " + sample.id) != std::string::npos;
      continue;
    }
    ++plain_total;
    plain_passed += check_result(
        build_supervised_sample(sample.turns, has_image, tok, "plain", sample.id), plain);
  }
  report("conversations v1", v1_passed, 30);
  report("conversations preprocess_multimodal", multimodal_passed, 25);
  report("conversations plain", plain_passed, plain_total);
  report("conversations plain errors", errors_passed, errors_total);
  CHECK(mismatches == 3);  // v015 (literal </s>), v017 (empty answer), v022 (literal ASSISTANT:)
  REQUIRE(v1_passed == 30);
  REQUIRE(multimodal_passed == 25);
  REQUIRE(plain_total == 20);
  REQUIRE(plain_passed == plain_total);
  REQUIRE(errors_total == 5);
  REQUIRE(errors_passed == errors_total);
}

TEST_CASE("preprocess_v1 rejects malformed conversations naming the sample", "[text][supervised]") {
  const auto& tok = llama_tokenizer();
  const std::vector<Turn> two_humans = {{"human", "a"}, {"human", "b"}};
  CHECK_THAT(error_of([&] { build_supervised_sample(two_humans, false, tok, "v1", "s1"); }),
             Catch::Contains("sample s1"));
  const std::vector<Turn> unknown_role = {{"human", "a"}, {"bot", "b"}};
  CHECK_THAT(error_of([&] { build_supervised_sample(unknown_role, false, tok, "v1", "s2"); }),
             Catch::Contains("sample s2") && Catch::Contains("bot"));
  CHECK_THAT(error_of([&] { build_supervised_sample({}, false, tok, "v1", "s3"); }),
             Catch::Contains("sample s3"));
  // Stage 1 on a text-only sample: no <image> in the first turn, as upstream asserts.
  const std::vector<Turn> text_only = {{"human", "a"}, {"gpt", "b"}};
  CHECK_THAT(error_of([&] { build_supervised_sample(text_only, false, tok, "plain", "s4"); }),
             Catch::Contains("sample s4"));
}

TEST_CASE("preprocess_v1 masks everything but answers and their </s>", "[text][supervised]") {
  const auto& tok = llama_tokenizer();
  const std::vector<Turn> turns = {
      {"human", "<image>\nQ1"}, {"gpt", "Yes"}, {"human", "Q2"}, {"gpt", "No"}};
  const auto sample = build_supervised_sample(turns, true, tok, "vicuna_v1", "multi");
  REQUIRE_FALSE(sample.mismatch);
  std::vector<int64_t> supervised;
  for (size_t i = 0; i < sample.labels.size(); ++i) {
    if (sample.labels[i] != kIgnoreIndex) {
      CHECK(sample.labels[i] == sample.input_ids[i]);
      supervised.push_back(sample.labels[i]);
    }
  }
  // ▁Yes </s> ▁No </s>
  CHECK(supervised == std::vector<int64_t>{3869, 2, 1939, 2});
}

TEST_CASE("text-only samples are truncated to model_max_length", "[text][supervised]") {
  const auto& tok = llama_tokenizer();
  std::string long_answer;
  for (int i = 0; i < 2500; ++i) long_answer += "word ";  // one token each
  const std::vector<Turn> turns = {{"human", "Talk."}, {"gpt", long_answer}};
  const auto sample = build_supervised_sample(turns, false, tok, "v1", "long");
  CHECK(sample.input_ids.size() == 2048);
  CHECK(sample.labels.size() == 2048);
  // cur_len passes model_max_length, so upstream skips the mismatch check and keeps labels.
  CHECK_FALSE(sample.mismatch);
  CHECK(sample.labels.back() == sample.input_ids.back());
  // Image samples are not truncated here (the collator does it).
  const std::vector<Turn> image_turns = {{"human", "<image>\nTalk."}, {"gpt", long_answer}};
  CHECK(build_supervised_sample(image_turns, true, tok, "v1", "long_img").input_ids.size() > 2048);
}

TEST_CASE("python string helpers follow str semantics", "[text][supervised]") {
  CHECK(py::strip("  \t\na b\r\n ") == "a b");
  CHECK(py::strip("\xC2\xA0x\xE3\x80\x80") == "x");      // NBSP and ideographic space
  CHECK(py::strip("\xE2\x80\x8Bx") == "\xE2\x80\x8Bx");  // zero-width space is not whitespace
  CHECK(py::strip("") == "");
  CHECK(py::strip(" \n ") == "");
  CHECK(py::split("a</s>b</s>", "</s>") == std::vector<std::string>{"a", "b", ""});
  CHECK(py::split("", "x") == std::vector<std::string>{""});
  CHECK(py::replace_all("<image>a<image>", "<image>", "") == "a");
  const auto turns = preprocess_multimodal({{"human", "  Look <image> here  "}, {"gpt", "ok"}});
  CHECK(turns[0].value == "<image>\nLook  here");
  CHECK(preprocess_multimodal({{"human", "<image>"}})[0].value == "<image>");
}

TEST_CASE("instruction data reader reports bad files with location", "[text][supervised]") {
  const std::string dir = scratch_dir("text_instruction_data");
  const std::string path = dir + "/bad.json";
  std::ofstream(path) << R"([{"id": 7, "conversations": [{"from": "human", "value": "hi"}]},
                             {"id": "x", "conversations": [{"from": "human"}]}])";
  CHECK_THAT(error_of([&] { load_instruction_data(path); }),
             Catch::Contains(path + "[1].conversations[0]") && Catch::Contains("value"));
  std::ofstream(path) << R"([{"id": 7, "image": "a.jpg", "conversations": []}])";
  const auto samples = load_instruction_data(path);
  REQUIRE(samples.size() == 1);
  CHECK(samples[0].id == "7");
  CHECK(samples[0].image == std::optional<std::string>("a.jpg"));
}
