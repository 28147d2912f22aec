// LLaMA tokenizer with the semantics of HF's slow LlamaTokenizer(legacy=False) as LLaVA-1.5 uses
// it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace adallava::text {

class SpmProcessor;

constexpr int64_t kImageTokenIndex = -200;  // LLaVA's placeholder where image features go
constexpr int64_t kIgnoreIndex = -100;      // label of positions without loss

class Tokenizer {
 public:
  // Loads `tokenizer.model`; errors name the file.
  static Tokenizer load(const std::string& model_path);
  // Loads <dir>/tokenizer.model; a missing file is an error naming it.
  static Tokenizer load_dir(const std::string& dir);

  // HF tokenizer(text).input_ids: BOS (when add_bos) + pieces; special-token strings such as
  // "</s>" and "<s>" inside the text become their ids instead of being spelled out.
  std::vector<int64_t> encode(const std::string& text, bool add_bos = true) const;
  // LLaVA's tokenizer_image_token: each "<image>" becomes kImageTokenIndex, chunks encoded
  // independently, one BOS at the start.
  std::vector<int64_t> encode_with_image(const std::string& prompt) const;
  // batch_decode(skip_special_tokens=True)[0] (no strip); image placeholders are skipped.
  std::string decode(const std::vector<int64_t>& ids) const;
  // decode() followed by Python's str.strip(): what LLaVA writes as an answer.
  std::string decode_answer(const std::vector<int64_t>& ids) const;
  // batch_decode(skip_special_tokens=False)[0]: special tokens spelled out ("<s> Yes</s>").
  std::string decode_keep_special(const std::vector<int64_t>& ids) const;
  // SentencePiece pieces of `ids`; kImageTokenIndex shows as "<IMAGE>".
  std::vector<std::string> pieces(const std::vector<int64_t>& ids) const;

  int64_t bos_id() const { return bos_id_; }
  int64_t eos_id() const { return eos_id_; }
  int64_t unk_id() const { return unk_id_; }
  int64_t vocab_size() const;

 private:
  std::vector<int64_t> encode_chunk(const std::string& chunk) const;
  std::string pieces_to_text(std::vector<std::string> tokens) const;
  bool is_special(int64_t id) const { return id == bos_id_ || id == eos_id_ || id == unk_id_; }
  const std::string& piece_of(int64_t id) const;
  const SpmProcessor& processor() const;

  // Processor with add_dummy_prefix switched off, as HF's non-legacy tokenizer loads it.
  std::shared_ptr<SpmProcessor> sp_;
  std::vector<std::string> pieces_;  // id -> piece, cached: the shim returns copies
  std::string model_path_;
  int64_t bos_id_ = 1, eos_id_ = 2, unk_id_ = 0;
  size_t unk_text_length_ = 0;  // pieces of the literal string "<unk>" (HF's unk_token_length)
};

}  // namespace adallava::text
