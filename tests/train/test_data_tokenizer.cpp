// The synthetic suite's own SentencePiece model: LLaMA layout, deterministic training, lossless
// round trips of the suite's text, and zero preprocess_v1 tokenization mismatches on its
// training and validation sets (the failure the tiny golden tokenizer shows on multi-turn data).
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <map>

#include "common/files.h"
#include "data/synth/generator.h"
#include "data/text/conversation.h"
#include "data/text/instruction_data.h"
#include "data/text/supervised.h"
#include "data/text/tokenizer.h"
#include "data/text/tokenizer_training.h"
#include "data_fixture.h"

using namespace adallava;
using namespace adallava::test;

namespace {

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

const std::string& suite(const std::string& name, int seed, const std::string& size = "small") {
  static std::map<std::string, std::string> dirs;
  auto it = dirs.find(name);
  if (it != dirs.end()) return it->second;
  const std::string d = scratch_dir("train_data_tokenizer_" + name) + "/synth";
  const auto r =
      run_adallava("data synth --out " + d + " --size " + size + " --seed " + std::to_string(seed));
  if (r.code != 0) throw Error("data synth failed: " + r.output);
  return dirs.emplace(name, d).first->second;
}

}  // namespace

TEST_CASE("synth writes a deterministic LLaMA-layout tokenizer", "[train][data][tokenizer]") {
  const std::string a = suite("tiny_a", 5, "tiny"), b = suite("tiny_b", 5, "tiny"),
                    c = suite("tiny_c", 6, "tiny");
  const std::string model_a = read_bytes(a + "/tokenizer.model");
  REQUIRE(!model_a.empty());
  CHECK(model_a == read_bytes(b + "/tokenizer.model"));
  CHECK(model_a != read_bytes(c + "/tokenizer.model"));
  const auto manifest = read_json_file(a + "/manifest.json");
  CHECK(manifest["files"]["tokenizer"] == "tokenizer.model");

  const auto tok = text::Tokenizer::load(a + "/tokenizer.model");
  CHECK(tok.vocab_size() <= synth::kTokenizerVocabSize);  // a tiny corpus may support fewer
  CHECK(tok.vocab_size() > 600);
  CHECK(tok.unk_id() == 0);
  CHECK(tok.bos_id() == 1);
  CHECK(tok.eos_id() == 2);
  CHECK(tok.pieces({0, 1, 2}) == std::vector<std::string>{"<unk>", "<s>", "</s>"});
  // Byte fallback: "\n" (between <image> and the question) is a byte piece, never <unk>.
  CHECK(tok.pieces(tok.encode("\n", false)) == std::vector<std::string>{"▁", "<0x0A>"});

  // The same training called directly on corpus.txt gives the same bytes.
  text::TokenizerTrainingOptions options;
  options.vocab_size = synth::kTokenizerVocabSize;
  const auto& vicuna = text::conversation_template("vicuna_v1");
  const size_t lines = manifest["counts"]["corpus_lines"].get<size_t>();
  options.extra_sentences.assign(lines / 16, vicuna.system + " USER: ASSISTANT:");
  const std::string direct = scratch_dir("train_data_tokenizer_direct") + "/t.model";
  text::train_tokenizer(a + "/corpus.txt", direct, options);
  CHECK(read_bytes(direct) == model_a);

  // Errors name the corpus.
  CHECK_THAT(error_of([&] { text::train_tokenizer(a + "/nope.txt", direct); }),
             Catch::Contains("nope.txt"));
  options.vocab_size = 4;
  CHECK_THAT(error_of([&] { text::train_tokenizer(a + "/corpus.txt", direct, options); }),
             Catch::Contains("vocab_size"));
}

TEST_CASE("suite tokenizer: round trips and zero preprocess_v1 mismatches",
          "[train][data][tokenizer]") {
  const std::string dir = suite("a", 5);
  const auto tok = text::Tokenizer::load(dir + "/tokenizer.model");
  CHECK(tok.vocab_size() == synth::kTokenizerVocabSize);
  // Every word of the suite is one piece, answers included ("right" was 5 pieces with 512).
  for (const char* word : {"right", "left", "above", "below", "purple", "hexagon", "triangle",
                           "yes", "no", "with", "color", "shapes", "letter"})
    CHECK(tok.pieces(tok.encode(word, false)) == std::vector<std::string>{std::string("▁") + word});
  // LLaMA-2's property that preprocess_v1's multi-turn correction relies on: "USER" after "</s>"
  // is one token fewer than at the start of a standalone round.
  const auto standalone = tok.encode("USER: x", false);
  const auto after_eos = tok.encode("</s>USER: x", false);
  CHECK(standalone.size() == after_eos.size());  // ▁ USER vs </s> USER
  CHECK(tok.pieces(standalone)[0] == "▁");
  CHECK(tok.pieces(standalone)[1] == "USER");

  // Every corpus line decodes back to itself.
  const std::string corpus = read_text_file(dir + "/corpus.txt");
  size_t lines = 0, exact = 0, unknown = 0;
  size_t begin = 0;
  while (begin < corpus.size()) {
    const size_t end = corpus.find('\n', begin);
    const std::string line = corpus.substr(begin, end - begin);
    begin = end + 1;
    const auto ids = tok.encode(line, true);
    unknown += std::count(ids.begin(), ids.end(), tok.unk_id());
    exact += tok.decode(ids) == line;
    ++lines;
  }
  std::cout << "[data] suite tokenizer: " << exact << "/" << lines << " corpus lines round-trip\n";
  CHECK(exact == lines);
  CHECK(unknown == 0);

  for (const std::string split : {"train.json", "val.json"}) {
    const auto samples = text::load_instruction_data(dir + "/" + split);
    size_t mismatches = 0, multi_turn = 0, longest = 0, total = 0;
    for (const auto& s : samples) {
      const auto r =
          text::build_supervised_sample(s.turns, s.image.has_value(), tok, "vicuna_v1", s.id);
      mismatches += r.mismatch;
      multi_turn += s.turns.size() > 2;
      longest = std::max(longest, r.input_ids.size());
      total += r.input_ids.size();
      // Supervised tokens are exactly the answers and their </s>.
      size_t supervised = 0;
      for (auto l : r.labels) supervised += l != text::kIgnoreIndex;
      size_t expected = 0;
      for (size_t t = 1; t < s.turns.size(); t += 2)
        expected += tok.encode(s.turns[t].value, false).size() + 1;
      CHECK(supervised == expected);
    }
    std::cout << "[data] " << split << ": " << samples.size() << " records (" << multi_turn
              << " multi-turn), " << mismatches << " mismatches, longest " << longest
              << " ids, mean " << total / samples.size() << "\n";
    CHECK(multi_turn > samples.size() / 2);
    CHECK(mismatches == 0);
  }
  const auto pretrain = text::load_instruction_data(dir + "/pretrain.json");
  size_t supervised_empty = 0;
  for (const auto& s : pretrain) {
    const auto r = text::build_supervised_sample(s.turns, true, tok, "plain", s.id);
    supervised_empty += std::none_of(r.labels.begin(), r.labels.end(),
                                     [](int64_t l) { return l != text::kIgnoreIndex; });
  }
  CHECK(supervised_empty == 0);
}
