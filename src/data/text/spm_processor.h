// SentencePiece behind a private dlopen (see src/data/spm_shim/spm_shim.cpp for why): the few
// operations the tokenizer needs, with std types.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace adallava::text {

class SpmProcessor {
 public:
  // Parses a serialized ModelProto; errors name `path`.
  static std::shared_ptr<SpmProcessor> load(const std::string& serialized, const std::string& path);
  // Trains a model on '\n'-separated `sentences` with SentencePiece trainer flags given as
  // "key=value" lines; returns the serialized ModelProto. Errors name `what`.
  static std::string train(const std::string& options, const std::string& sentences, unsigned seed,
                           bool quiet, const std::string& what);
  ~SpmProcessor();
  SpmProcessor(const SpmProcessor&) = delete;
  SpmProcessor& operator=(const SpmProcessor&) = delete;

  int piece_size() const;
  int piece_to_id(const std::string& piece) const;
  std::string id_to_piece(int id) const;
  std::vector<int> encode(const std::string& text) const;
  std::string decode(const std::vector<int>& ids) const;

 private:
  SpmProcessor() = default;
  void* handle_ = nullptr;
  std::string path_;
};

}  // namespace adallava::text
