// A C interface over libsentencepiece, built as its own shared library and loaded with
// dlopen(RTLD_LOCAL | RTLD_DEEPBIND).
//
// Why: Debian's libsentencepiece exports the protobuf-lite 3.14 it bundles, while LibTorch
// loads the system libprotobuf 3.21. Linked into one process the two sets of symbols interpose
// each other and the process crashes during static initialisation (or aborts on protobuf's
// version check). Loading sentencepiece privately and deep-bound keeps each on its own copy.
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

// Exported by libsentencepiece but declared only in its private common.h.
namespace sentencepiece::logging {
int GetMinLogLevel();
void SetMinLogLevel(int level);
}  // namespace sentencepiece::logging

extern "C" {

struct adl_spm {
  sentencepiece::SentencePieceProcessor processor;
};

static void copy_error(const std::string& message, char* err, size_t err_cap) {
  if (!err || err_cap == 0) return;
  const size_t n = std::min(message.size(), err_cap - 1);
  std::memcpy(err, message.data(), n);
  err[n] = '\0';
}

__attribute__((visibility("default"))) adl_spm* adl_spm_load(const char* data, size_t len,
                                                             char* err, size_t err_cap) {
  auto spm = std::make_unique<adl_spm>();
  const auto status = spm->processor.LoadFromSerializedProto(std::string(data, len));
  if (!status.ok()) {
    copy_error(status.ToString(), err, err_cap);
    return nullptr;
  }
  return spm.release();
}

__attribute__((visibility("default"))) void adl_spm_free(adl_spm* spm) {
  delete spm;
}

__attribute__((visibility("default"))) int adl_spm_piece_size(const adl_spm* spm) {
  return spm->processor.GetPieceSize();
}

__attribute__((visibility("default"))) int adl_spm_piece_to_id(const adl_spm* spm,
                                                               const char* piece, size_t len) {
  return spm->processor.PieceToId(std::string(piece, len));
}

// Returns the piece's byte length; copies at most `cap` bytes.
__attribute__((visibility("default"))) size_t adl_spm_id_to_piece(const adl_spm* spm, int id,
                                                                  char* out, size_t cap) {
  const std::string& piece = spm->processor.IdToPiece(id);
  std::memcpy(out, piece.data(), std::min(cap, piece.size()));
  return piece.size();
}

// Returns the number of ids (written up to `cap`), or -1 with `err` filled.
__attribute__((visibility("default"))) long adl_spm_encode(const adl_spm* spm, const char* text,
                                                           size_t len, int* out, size_t cap,
                                                           char* err, size_t err_cap) {
  std::vector<int> ids;
  const auto status = spm->processor.Encode(std::string(text, len), &ids);
  if (!status.ok()) {
    copy_error(status.ToString(), err, err_cap);
    return -1;
  }
  std::memcpy(out, ids.data(), std::min(cap, ids.size()) * sizeof(int));
  return static_cast<long>(ids.size());
}

// Returns the decoded byte length (written up to `cap`), or -1 with `err` filled.
__attribute__((visibility("default"))) long adl_spm_decode(const adl_spm* spm, const int* ids,
                                                           size_t n, char* out, size_t cap,
                                                           char* err, size_t err_cap) {
  std::string text;
  const auto status = spm->processor.Decode(std::vector<int>(ids, ids + n), &text);
  if (!status.ok()) {
    copy_error(status.ToString(), err, err_cap);
    return -1;
  }
  std::memcpy(out, text.data(), std::min(cap, text.size()));
  return static_cast<long>(text.size());
}

// Sentences for the trainer: a buffer of '\n'-separated lines, read in order.
namespace {
class LineIterator : public sentencepiece::SentenceIterator {
 public:
  LineIterator(const char* data, size_t len) : data_(data), len_(len) { Next(); }
  bool done() const override { return done_; }
  void Next() override {
    if (pos_ >= len_) {
      done_ = true;
      return;
    }
    const char* start = data_ + pos_;
    const void* newline = std::memchr(start, '\n', len_ - pos_);
    const size_t n = newline ? static_cast<const char*>(newline) - start : len_ - pos_;
    line_.assign(start, n);
    pos_ += n + 1;
  }
  const std::string& value() const override { return line_; }
  sentencepiece::util::Status status() const override { return {}; }

 private:
  const char* data_;
  size_t len_;
  size_t pos_ = 0;
  bool done_ = false;
  std::string line_;
};
}  // namespace

// Trains a model from `sentences` ('\n'-separated) with trainer flags given as "key=value" lines.
// On success *out_model is a malloc'ed serialized ModelProto (free with adl_spm_free_buffer).
// Returns 0, or -1 with `err` filled. `seed` fixes SentencePiece's global random generator (used
// only when the trainer samples); `quiet` silences the trainer's progress log.
__attribute__((visibility("default"))) int adl_spm_train(
    const char* options, size_t options_len, const char* sentences, size_t sentences_len,
    unsigned seed, int quiet, char** out_model, size_t* out_len, char* err, size_t err_cap) {
  std::unordered_map<std::string, std::string> kwargs;
  const std::string flags(options, options_len);
  size_t begin = 0;
  while (begin < flags.size()) {
    size_t end = flags.find('\n', begin);
    if (end == std::string::npos) end = flags.size();
    const std::string line = flags.substr(begin, end - begin);
    begin = end + 1;
    if (line.empty()) continue;
    const size_t eq = line.find('=');
    if (eq == std::string::npos) {
      copy_error("trainer option without '=': " + line, err, err_cap);
      return -1;
    }
    kwargs[line.substr(0, eq)] = line.substr(eq + 1);
  }
  const int previous_level = sentencepiece::logging::GetMinLogLevel();
  if (quiet) sentencepiece::logging::SetMinLogLevel(2);
  sentencepiece::SetRandomGeneratorSeed(seed);
  LineIterator lines(sentences, sentences_len);
  std::string model;
  const auto status = sentencepiece::SentencePieceTrainer::Train(kwargs, &lines, &model);
  sentencepiece::logging::SetMinLogLevel(previous_level);
  if (!status.ok()) {
    copy_error(status.ToString(), err, err_cap);
    return -1;
  }
  *out_model = static_cast<char*>(std::malloc(model.size()));
  if (!*out_model) {
    copy_error("out of memory", err, err_cap);
    return -1;
  }
  std::memcpy(*out_model, model.data(), model.size());
  *out_len = model.size();
  return 0;
}

__attribute__((visibility("default"))) void adl_spm_free_buffer(char* buffer) {
  std::free(buffer);
}

}  // extern "C"
