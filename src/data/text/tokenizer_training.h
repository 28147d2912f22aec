// Training a LLaMA-style SentencePiece tokenizer (for models built from scratch, e.g. the demo on
// the synthetic suite, where no pretrained tokenizer exists offline).
#pragma once

#include <string>
#include <vector>

namespace adallava::text {

struct TokenizerTrainingOptions {
  int vocab_size = 512;
  std::string model_type = "bpe";  // LLaMA's choice; "unigram" also works
  // Pieces always kept whole. The default makes vicuna_v1's "USER" one piece everywhere and
  // "▁USER" two ("▁", "USER") as in LLaMA-2's vocabulary, which is what preprocess_v1's
  // round-length correction assumes; without it multi-turn samples can mismatch.
  std::vector<std::string> user_defined_symbols = {"USER"};
  // Appended to the corpus lines (e.g. the conversation template's fixed text).
  std::vector<std::string> extra_sentences;
  bool byte_fallback = true;  // unseen characters (e.g. "\n") become <0xNN> pieces, never <unk>
  unsigned seed = 0;
  bool quiet = true;  // silence SentencePiece's progress log
};

// Trains on the lines of `corpus_path` (+ extra_sentences) and writes `out_model_path`
// (atomically). The model follows LLaMA's spec: unk=0 "<unk>", bos=1 "<s>", eos=2 "</s>", no pad,
// identity normalisation, digits split, dummy prefix, whitespace kept. Deterministic: one thread,
// every sentence used in order, fixed seed. Errors name the corpus or output file.
void train_tokenizer(const std::string& corpus_path, const std::string& out_model_path,
                     const TokenizerTrainingOptions& options = {});

// The same from sentences in memory; returns the serialized model.
std::string train_tokenizer_model(const std::vector<std::string>& sentences,
                                  const TokenizerTrainingOptions& options,
                                  const std::string& name_for_errors);

}  // namespace adallava::text
