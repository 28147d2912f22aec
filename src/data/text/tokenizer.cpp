#include "data/text/tokenizer.h"

#include "data/text/spm_processor.h"

#include <array>
#include <string_view>

#include "common/error.h"
#include "common/files.h"
#include "common/py_text.h"

namespace adallava::text {

namespace {

constexpr std::string_view kSpaceSymbol = "\xE2\x96\x81";  // U+2581 "▁", SentencePiece's space
constexpr std::string_view kImagePlaceholder = "<image>";

// Serialized protobuf fragment: ModelProto.normalizer_spec (field 3) { add_dummy_prefix (field 3)
// = false }. Protobuf merges a repeated embedded-message field into the earlier one, so appending
// this to a model file flips only that flag -- the same edit HF's non-legacy LlamaTokenizer makes
// to the proto, done without the protobuf headers (libsentencepiece-dev does not ship them).
constexpr std::array<char, 4> kNoDummyPrefixPatch = {0x1A, 0x02, 0x18, 0x00};

std::shared_ptr<SpmProcessor> load_processor(const std::string& path,
                                             const std::string& serialized) {
  return SpmProcessor::load(serialized, path);
}

}  // namespace

Tokenizer Tokenizer::load(const std::string& model_path) {
  if (!file_exists(model_path)) fail("{}: tokenizer model file not found", model_path);
  const std::string bytes = read_text_file(model_path);
  if (bytes.empty()) fail("{}: tokenizer model file is empty", model_path);
  // Validate the untouched file first: the patch alone would parse as an (empty) model.
  const auto original = load_processor(model_path, bytes);
  if (original->piece_size() == 0) fail("{}: tokenizer model has no pieces", model_path);

  Tokenizer tok;
  tok.model_path_ = model_path;
  tok.sp_ = load_processor(
      model_path, bytes + std::string(kNoDummyPrefixPatch.begin(), kNoDummyPrefixPatch.end()));
  auto special_id = [&](const char* piece) -> int64_t {
    const int id = tok.processor().piece_to_id(piece);
    if (tok.processor().id_to_piece(id) != piece) {
      fail("{}: tokenizer model has no special piece {}", model_path, piece);
    }
    return id;
  };
  tok.unk_id_ = special_id("<unk>");
  tok.bos_id_ = special_id("<s>");
  tok.eos_id_ = special_id("</s>");
  tok.unk_text_length_ = tok.processor().encode("<unk>").size();
  const int n = tok.processor().piece_size();
  tok.pieces_.reserve(n);
  for (int i = 0; i < n; ++i) tok.pieces_.push_back(tok.processor().id_to_piece(i));
  return tok;
}

Tokenizer Tokenizer::load_dir(const std::string& dir) {
  return load(join_path(dir, "tokenizer.model"));
}

const SpmProcessor& Tokenizer::processor() const {
  if (!sp_) fail("tokenizer used before Tokenizer::load");
  return *sp_;
}

int64_t Tokenizer::vocab_size() const {
  return static_cast<int64_t>(pieces_.size());
}

const std::string& Tokenizer::piece_of(int64_t id) const {
  if (id < 0 || id >= vocab_size()) {
    fail("{}: token id {} is outside the vocabulary [0, {})", model_path_, id, vocab_size());
  }
  return pieces_[static_cast<size_t>(id)];
}

// HF LlamaTokenizer._tokenize (legacy=False) for text between special tokens. Text that starts
// with a space is encoded behind the literal "<unk>" whose pieces are then dropped: that keeps
// SentencePiece from treating the leading space as a (removed) dummy prefix.
std::vector<int64_t> Tokenizer::encode_chunk(const std::string& chunk) const {
  const bool leading_space = py::starts_with(chunk, kSpaceSymbol) || py::starts_with(chunk, " ");
  const std::vector<int> ids = processor().encode(leading_space ? "<unk>" + chunk : chunk);
  size_t skip = 0;
  if (leading_space && ids.size() >= unk_text_length_) skip = unk_text_length_;
  return std::vector<int64_t>(ids.begin() + skip, ids.end());
}

std::vector<int64_t> Tokenizer::encode(const std::string& text, bool add_bos) const {
  std::vector<int64_t> ids;
  if (add_bos) ids.push_back(bos_id_);
  if (text.empty()) return ids;

  // HF prepends "▁" to the whole text (after turning literal "▁" into spaces), splits out the
  // special-token strings, and tokenizes the pieces between them separately.
  const std::string prefixed = std::string(kSpaceSymbol) + py::replace_all(text, kSpaceSymbol, " ");
  const std::array<std::pair<std::string_view, int64_t>, 3> specials = {
      {{"<unk>", unk_id_}, {"<s>", bos_id_}, {"</s>", eos_id_}}};
  std::vector<int64_t> body;
  size_t start = 0;
  size_t pos = 0;
  while (pos < prefixed.size()) {
    const std::pair<std::string_view, int64_t>* match = nullptr;
    if (prefixed[pos] == '<') {
      for (const auto& special : specials) {
        if (prefixed.compare(pos, special.first.size(), special.first) == 0) match = &special;
      }
    }
    if (!match) {
      ++pos;
      continue;
    }
    if (pos > start) {
      const auto chunk_ids = encode_chunk(prefixed.substr(start, pos - start));
      body.insert(body.end(), chunk_ids.begin(), chunk_ids.end());
    }
    body.push_back(match->second);
    pos += match->first.size();
    start = pos;
  }
  if (start < prefixed.size()) {
    const auto chunk_ids = encode_chunk(prefixed.substr(start));
    body.insert(body.end(), chunk_ids.begin(), chunk_ids.end());
  }
  // The added "▁" stays alone when the text starts with a special token; HF drops it.
  if (body.size() > 1 && piece_of(body[0]) == kSpaceSymbol && is_special(body[1])) {
    body.erase(body.begin());
  }
  ids.insert(ids.end(), body.begin(), body.end());
  return ids;
}

std::vector<int64_t> Tokenizer::encode_with_image(const std::string& prompt) const {
  std::vector<int64_t> ids = {bos_id_};
  const auto chunks = py::split(prompt, kImagePlaceholder);
  for (size_t i = 0; i < chunks.size(); ++i) {
    if (i > 0) ids.push_back(kImageTokenIndex);
    const auto chunk_ids = encode(chunks[i], /*add_bos=*/false);
    ids.insert(ids.end(), chunk_ids.begin(), chunk_ids.end());
  }
  return ids;
}

// LlamaTokenizer.convert_tokens_to_string (legacy=False): the first token loses its leading
// "▁" (the prefix HF added), special tokens are spelled out without extra spaces, everything
// else goes through SentencePiece's decoder (byte pieces, "▁" -> " ").
std::string Tokenizer::pieces_to_text(std::vector<std::string> tokens) const {
  if (tokens.empty()) return "";
  if (py::starts_with(tokens[0], kSpaceSymbol)) tokens[0].erase(0, kSpaceSymbol.size());
  std::string out;
  std::vector<std::string> pending;
  auto flush = [&] {
    // SentencePiece's DecodePieces spells out pieces outside the vocabulary (such as a first
    // piece whose "▁" was stripped); decoding by id must do the same, so such pieces split
    // the run of ids and are written with "▁" turned into spaces.
    std::vector<int> ids;
    for (const auto& piece : pending) {
      const int id = processor().piece_to_id(piece);
      if (id == unk_id_ && piece != "<unk>") {
        out += processor().decode(ids);
        ids.clear();
        out += py::replace_all(piece, kSpaceSymbol, " ");
      } else {
        ids.push_back(id);
      }
    }
    out += processor().decode(ids);
    pending.clear();
  };
  for (const auto& token : tokens) {
    if (token == "<s>" || token == "</s>" || token == "<unk>") {
      flush();
      out += token;
    } else {
      pending.push_back(token);
    }
  }
  flush();
  return out;
}

std::string Tokenizer::decode(const std::vector<int64_t>& ids) const {
  std::vector<std::string> tokens;
  for (int64_t id : ids) {
    if (id == kImageTokenIndex || is_special(id)) continue;
    tokens.push_back(piece_of(id));
  }
  return pieces_to_text(std::move(tokens));
}

std::string Tokenizer::decode_keep_special(const std::vector<int64_t>& ids) const {
  std::vector<std::string> tokens;
  for (int64_t id : ids) {
    if (id == kImageTokenIndex) continue;
    tokens.push_back(piece_of(id));
  }
  return pieces_to_text(std::move(tokens));
}

std::string Tokenizer::decode_answer(const std::vector<int64_t>& ids) const {
  return py::strip(decode(ids));
}

std::vector<std::string> Tokenizer::pieces(const std::vector<int64_t>& ids) const {
  std::vector<std::string> out;
  out.reserve(ids.size());
  for (int64_t id : ids) out.push_back(id == kImageTokenIndex ? "<IMAGE>" : piece_of(id));
  return out;
}

}  // namespace adallava::text
