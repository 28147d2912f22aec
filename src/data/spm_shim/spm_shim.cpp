// A C interface over libsentencepiece, built as its own shared library and loaded with
// dlopen(RTLD_LOCAL | RTLD_DEEPBIND).
//
// Why: Debian's libsentencepiece exports the protobuf-lite 3.14 it bundles, while LibTorch
// loads the system libprotobuf 3.21. Linked into one process the two sets of symbols interpose
// each other and the process crashes during static initialisation (or aborts on protobuf's
// version check). Loading sentencepiece privately and deep-bound keeps each on its own copy.
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <sentencepiece_processor.h>

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

}  // extern "C"
