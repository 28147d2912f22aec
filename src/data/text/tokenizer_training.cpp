#include "data/text/tokenizer_training.h"

#include <fmt/format.h>

#include "common/error.h"
#include "common/files.h"
#include "data/text/spm_processor.h"

namespace adallava::text {

namespace {

std::string trainer_flags(const TokenizerTrainingOptions& o) {
  ADALLAVA_CHECK(o.vocab_size >= 8, "tokenizer training: vocab_size {} is too small", o.vocab_size);
  ADALLAVA_CHECK(o.model_type == "bpe" || o.model_type == "unigram",
                 "tokenizer training: model_type '{}' is not bpe or unigram", o.model_type);
  std::string symbols;
  for (const auto& s : o.user_defined_symbols) {
    ADALLAVA_CHECK(s.find(',') == std::string::npos && s.find('\n') == std::string::npos,
                   "tokenizer training: user-defined symbol '{}' may not contain ',' or newline",
                   s);
    symbols += (symbols.empty() ? "" : ",") + s;
  }
  // LLaMA's trainer spec, except character_coverage 1.0 (a tiny corpus has no rare noise) and
  // hard_vocab_limit off (a tiny corpus may not support the requested size).
  std::string f;
  auto add = [&f](const std::string& key, const std::string& value) {
    f += key + "=" + value + "\n";
  };
  add("model_type", o.model_type);
  add("vocab_size", std::to_string(o.vocab_size));
  add("hard_vocab_limit", "false");
  add("character_coverage", "1.0");
  add("byte_fallback", o.byte_fallback ? "true" : "false");
  add("split_digits", "true");
  add("split_by_unicode_script", "true");
  add("split_by_whitespace", "true");
  add("allow_whitespace_only_pieces", "true");
  add("normalization_rule_name", "identity");
  add("add_dummy_prefix", "true");
  add("remove_extra_whitespaces", "false");
  add("unk_id", "0");
  add("bos_id", "1");
  add("eos_id", "2");
  add("pad_id", "-1");
  add("unk_piece", "<unk>");
  add("bos_piece", "<s>");
  add("eos_piece", "</s>");
  add("num_threads", "1");
  add("input_sentence_size", "0");
  add("shuffle_input_sentence", "false");
  add("max_sentence_length", "1000000");
  if (!symbols.empty()) add("user_defined_symbols", symbols);
  return f;
}

}  // namespace

std::string train_tokenizer_model(const std::vector<std::string>& sentences,
                                  const TokenizerTrainingOptions& options,
                                  const std::string& name_for_errors) {
  std::string buffer;
  size_t non_empty = 0;
  for (const auto& s : sentences) {
    if (s.empty()) continue;
    ADALLAVA_CHECK(s.find('\n') == std::string::npos, "{}: a training sentence contains a newline",
                   name_for_errors);
    buffer += s;
    buffer += '\n';
    ++non_empty;
  }
  ADALLAVA_CHECK(non_empty > 0, "{}: no sentences to train a tokenizer on", name_for_errors);
  return SpmProcessor::train(trainer_flags(options), buffer, options.seed, options.quiet,
                             name_for_errors);
}

void train_tokenizer(const std::string& corpus_path, const std::string& out_model_path,
                     const TokenizerTrainingOptions& options) {
  const std::string corpus = read_text_file(corpus_path);
  std::vector<std::string> sentences;
  size_t begin = 0;
  while (begin < corpus.size()) {
    size_t end = corpus.find('\n', begin);
    if (end == std::string::npos) end = corpus.size();
    std::string line = corpus.substr(begin, end - begin);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    sentences.push_back(std::move(line));
    begin = end + 1;
  }
  sentences.insert(sentences.end(), options.extra_sentences.begin(), options.extra_sentences.end());
  const std::string model = train_tokenizer_model(sentences, options, corpus_path);
  write_text_file_atomic(out_model_path, model);
}

}  // namespace adallava::text
