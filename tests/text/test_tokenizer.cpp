// Tokenizer vs golden/text (HF slow LlamaTokenizer, legacy=False) and the tiny LLaVA tokenizer.
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <functional>

#include "common/error.h"
#include "golden_text.h"

using adallava::Error;
using adallava::text::kImageTokenIndex;
using adallava::text::Tokenizer;
using namespace adallava::test;

TEST_CASE("tokenize_checks: ids with and without BOS and pieces match HF", "[text][tokenizer]") {
  const auto& tok = llama_tokenizer();
  const auto& cases = text_golden().at("tokenize_checks");
  REQUIRE(cases.size() == 30);
  int passed = 0;
  for (const auto& c : cases) {
    const std::string text = c.at("text");
    INFO("text: '" << text << "'");
    const auto with_bos = tok.encode(text);
    const auto no_bos = tok.encode(text, /*add_bos=*/false);
    CHECK(with_bos == ids_of(c.at("input_ids")));
    CHECK(no_bos == ids_of(c.at("input_ids_no_bos")));
    CHECK(tok.pieces(with_bos) == c.at("pieces").get<std::vector<std::string>>());
    passed += with_bos == ids_of(c.at("input_ids")) && no_bos == ids_of(c.at("input_ids_no_bos"));
  }
  report("tokenize_checks", passed, static_cast<int>(cases.size()));
  REQUIRE(passed == static_cast<int>(cases.size()));
}

TEST_CASE("decode_checks: skip-special, strip and keep-special decoding match HF",
          "[text][tokenizer]") {
  const auto& tok = llama_tokenizer();
  const auto& cases = text_golden().at("decode_checks");
  REQUIRE(cases.size() == 18);
  int passed = 0;
  for (const auto& c : cases) {
    const auto ids = ids_of(c.at("ids"));
    INFO("kind " << c.at("kind").get<std::string>() << ", ids " << c.at("ids").dump());
    const bool ok =
        tok.decode(ids) == c.at("decoded_skip_special").get<std::string>() &&
        tok.decode_answer(ids) == c.at("decoded_skip_special_strip").get<std::string>() &&
        tok.decode_keep_special(ids) == c.at("decoded_keep_special").get<std::string>() &&
        tok.pieces(ids) == c.at("pieces").get<std::vector<std::string>>();
    CHECK(tok.decode(ids) == c.at("decoded_skip_special").get<std::string>());
    CHECK(tok.decode_answer(ids) == c.at("decoded_skip_special_strip").get<std::string>());
    CHECK(tok.decode_keep_special(ids) == c.at("decoded_keep_special").get<std::string>());
    CHECK(tok.pieces(ids) == c.at("pieces").get<std::vector<std::string>>());
    passed += ok;
  }
  report("decode_checks", passed, static_cast<int>(cases.size()));
  REQUIRE(passed == static_cast<int>(cases.size()));
}

TEST_CASE("tokenizer facts of the real LLaMA model", "[text][tokenizer]") {
  const auto& tok = llama_tokenizer();
  CHECK(tok.vocab_size() == 32000);
  CHECK(tok.bos_id() == 1);
  CHECK(tok.eos_id() == 2);
  CHECK(tok.unk_id() == 0);
  // Image placeholders are skipped by decode and named by pieces().
  CHECK(tok.decode({3869, kImageTokenIndex, 29889}) == "Yes.");
  CHECK(tok.pieces({kImageTokenIndex}) == std::vector<std::string>{"<IMAGE>"});
  CHECK_THROWS_AS(tok.decode({32000}), Error);
  CHECK_THROWS_AS(tok.pieces({-1}), Error);
  // A default-constructed tokenizer refuses to work instead of crashing.
  CHECK_THROWS_AS(Tokenizer().encode("hi"), Error);
  CHECK_THROWS_AS(Tokenizer().decode({3869}), Error);
}

TEST_CASE("encode_with_image splits on every <image> and encodes chunks independently",
          "[text][tokenizer]") {
  const auto& tok = llama_tokenizer();
  // Net effect documented in llava-reference.md §3.2: BOS + sp(chunk) + -200 + sp(chunk) ...
  CHECK(tok.encode_with_image("<image>") == std::vector<int64_t>{1, kImageTokenIndex});
  CHECK(tok.encode_with_image("") == std::vector<int64_t>{1});
  CHECK(tok.encode_with_image("<image>\n") == std::vector<int64_t>{1, kImageTokenIndex, 29871, 13});
  const auto hello = tok.encode("Hello", false);
  std::vector<int64_t> expected = {1};
  expected.insert(expected.end(), hello.begin(), hello.end());
  expected.push_back(kImageTokenIndex);
  expected.push_back(kImageTokenIndex);
  expected.insert(expected.end(), hello.begin(), hello.end());
  CHECK(tok.encode_with_image("Hello<image><image>Hello") == expected);
  // No placeholder: identical to plain encoding with BOS.
  CHECK(tok.encode_with_image("USER: hi") == tok.encode("USER: hi"));
}

TEST_CASE("tiny LLaVA tokenizer reproduces the reference prompt ids", "[text][tokenizer]") {
  const auto manifest = adallava::read_json_file(golden("llava-tiny/ref/manifest.json"));
  const auto tok = Tokenizer::load_dir(golden("llava-tiny/llava15_orig"));
  CHECK(tok.vocab_size() == 512);
  const auto ids = tok.encode_with_image(manifest.at("prompt").get<std::string>());
  const auto expected = ids_of(manifest.at("input_ids"));
  REQUIRE(ids == expected);
  REQUIRE(ids.size() == 46);
  CHECK(ids[33] == kImageTokenIndex);
  CHECK(std::count(ids.begin(), ids.end(), kImageTokenIndex) == 1);
  // The manifest's pieces list leaves the placeholder out.
  std::vector<int64_t> text_ids;
  for (auto id : ids) {
    if (id != kImageTokenIndex) text_ids.push_back(id);
  }
  CHECK(tok.pieces(text_ids) == manifest.at("input_ids_pieces").get<std::vector<std::string>>());
  report("tiny_tokenizer_prompt", ids == expected, 1);
}

TEST_CASE("missing or corrupt tokenizer.model is an Error naming the file", "[text][tokenizer]") {
  const std::string dir = scratch_dir("text_tokenizer_errors");
  auto message_of = [](const std::function<void()>& action) {
    try {
      action();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("<no error>");
  };

  const std::string missing = dir + "/nowhere/tokenizer.model";
  CHECK_THAT(message_of([&] { Tokenizer::load(missing); }), Catch::Contains(missing));
  CHECK_THAT(message_of([&] { Tokenizer::load_dir(dir + "/nowhere"); }), Catch::Contains(missing));

  const std::string garbage = dir + "/garbage.model";
  std::ofstream(garbage) << "this is not a sentencepiece model\n";
  CHECK_THAT(message_of([&] { Tokenizer::load(garbage); }), Catch::Contains(garbage));

  const std::string empty = dir + "/empty.model";
  std::ofstream(empty).flush();
  CHECK_THAT(message_of([&] { Tokenizer::load(empty); }), Catch::Contains(empty));

  // A truncated copy of the real model.
  const std::string bytes = adallava::read_text_file(golden("text/tokenizer.model"));
  const std::string truncated = dir + "/truncated.model";
  std::ofstream(truncated, std::ios::binary) << bytes.substr(0, bytes.size() / 3);
  CHECK_THAT(message_of([&] { Tokenizer::load(truncated); }), Catch::Contains(truncated));
}
