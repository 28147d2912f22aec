#include "eval/runner/model_fingerprint.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/files.h"
#include "common/hash.h"

namespace adallava::eval {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kBlock = 4096;
constexpr uint64_t kSamples = 16;
const char* const kClaimFile = "model.json";

uint64_t hash_file_samples(const fs::path& path, uint64_t h) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot read", path.string());
  const uint64_t size = fs::file_size(path);
  h = fnv1a(std::to_string(size), h);
  std::string block;
  auto read_at = [&](uint64_t offset, uint64_t length) {
    block.resize(length);
    in.seekg(static_cast<std::streamoff>(offset));
    if (!in.read(block.data(), static_cast<std::streamsize>(length)))
      fail("{}: cannot read {} bytes at offset {}", path.string(), length, offset);
    h = fnv1a(block, h);
  };
  if (size <= kBlock * kSamples) {
    if (size > 0) read_at(0, size);
  } else {
    for (uint64_t i = 0; i < kSamples; ++i) read_at(i * (size - kBlock) / (kSamples - 1), kBlock);
  }
  return h;
}

// Answers of a model: answers.jsonl, or the chunk files of --num-chunks runs.
bool holds_answers(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return false;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.is_regular_file() && entry.path().extension() == ".jsonl" && entry.file_size() > 0)
      return true;
  return false;
}

}  // namespace

std::string checkpoint_fingerprint(const std::string& model_path) {
  const fs::path root(model_path);
  std::error_code ec;
  std::vector<fs::path> files;
  if (fs::is_regular_file(root, ec)) {
    files.push_back(root);
  } else {
    if (!fs::is_directory(root, ec)) fail("{}: no such checkpoint folder or file", model_path);
    for (const auto& entry : fs::recursive_directory_iterator(root, ec))
      if (entry.is_regular_file()) files.push_back(entry.path());
    if (ec) fail("{}: cannot list: {}", model_path, ec.message());
  }
  std::sort(files.begin(), files.end());
  uint64_t h = kFnvOffsetBasis;
  for (const auto& file : files) {
    h = fnv1a(file.lexically_relative(root).generic_string(), h);
    h = hash_file_samples(file, h);
  }
  return fmt::format("{:016x}", h);
}

void claim_answer_folder(const std::string& answers_dir, const std::string& model_path,
                         const std::string& fingerprint) {
  const std::string claim = join_path(answers_dir, kClaimFile);
  if (file_exists(claim)) {
    const auto recorded = read_json_file(claim);
    if (!recorded.is_object() || !recorded.contains("fingerprint") ||
        !recorded["fingerprint"].is_string())
      fail(
          "{}: field 'fingerprint' missing or not a string; remove the file (and the answers "
          "beside it, if they may be another checkpoint's)",
          claim);
    const std::string before = recorded["fingerprint"].get<std::string>();
    const auto model = recorded.find("model");
    const std::string before_model =
        model != recorded.end() && model->is_string() ? model->get<std::string>() : "?";
    if (before == fingerprint) return;
    if (holds_answers(answers_dir))
      fail(
          "{}: holds answers of checkpoint {} as it was then (fingerprint {}); {} is now {}: it "
          "was retrained or replaced since. Remove that folder, or pass another --out, to "
          "evaluate it afresh",
          answers_dir, before_model, before, model_path, fingerprint);
  }
  fs::create_directories(answers_dir);
  nlohmann::json j;
  j["model"] = model_path;
  j["fingerprint"] = fingerprint;
  write_text_file_atomic(claim, j.dump(1) + "\n");
}

}  // namespace adallava::eval
