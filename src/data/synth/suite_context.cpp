#include "data/synth/suite_context.h"

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "data/synth/questions.h"
#include "data/synth/render.h"

namespace adallava::synth {

const char* const kShortAnswerSuffix = "\nAnswer the question using a single word or phrase.";
const char* const kMultipleChoiceSuffix =
    "\nAnswer with the option's letter from the given choices directly.";
const char* const kShapesHint = "Look at the shapes in the picture.";

SizePreset size_preset(const std::string& name) {
  // name, train, val, q/img, vqav2, gqa, textvqa, sqa, pope, mme/cat, mmbench
  if (name == "tiny") return {"tiny", 24, 6, 4, 6, 6, 6, 8, 4, 2, 8};
  if (name == "small") return {"small", 400, 40, 4, 60, 60, 50, 60, 30, 10, 60};
  if (name == "default") return {"default", 2000, 200, 4, 300, 300, 200, 200, 100, 30, 200};
  // The demo's: a ViT trained from scratch memorises 2000 images within a few epochs instead of
  // learning colours and shapes, so it needs many distinct images each seen about once.
  if (name == "large") return {"large", 8000, 200, 4, 300, 300, 200, 200, 100, 30, 200};
  fail("unknown synthetic suite size '{}' (expected tiny, small, default or large)", name);
}

SuiteContext::SuiteContext(std::string root, uint64_t seed, int image_size, SizePreset preset)
    : root_(std::move(root)), seed_(seed), image_size_(image_size), preset_(std::move(preset)) {}

namespace {

void write_file(const std::string& path, const char* data, size_t size) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  if (ec) fail("{}: cannot create folder: {}", fs::path(path).parent_path().string(), ec.message());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) fail("{}: cannot open for writing", path);
  out.write(data, static_cast<std::streamsize>(size));
  out.close();
  if (!out) fail("{}: write failed (disk full?)", path);
}

}  // namespace

void SuiteContext::write_text(const std::string& rel, const std::string& text) {
  write_file(root_ + "/" + rel, text.data(), text.size());
  written_.push_back(rel);
}

void SuiteContext::write_bytes(const std::string& rel, const std::vector<unsigned char>& bytes) {
  write_file(root_ + "/" + rel, reinterpret_cast<const char*>(bytes.data()), bytes.size());
  written_.push_back(rel);
}

void SuiteContext::write_json(const std::string& rel, const ojson& value) {
  write_text(rel, value.dump(1) + "\n");
}

void SuiteContext::write_jsonl(const std::string& rel, const std::vector<ojson>& lines) {
  std::string text;
  for (const auto& l : lines) text += l.dump() + "\n";
  write_text(rel, text);
}

std::vector<unsigned char> SuiteContext::write_scene_png(const std::string& rel,
                                                         const Scene& scene) {
  auto bytes = encode_png(render_scene(scene));
  write_bytes(rel, bytes);
  return bytes;
}

std::string base64_encode(const std::vector<unsigned char>& bytes) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
  }
  if (i + 1 == bytes.size()) {
    const unsigned v = bytes[i] << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    const unsigned v = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::string padded(long value, int width) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%0*ld", width, value);
  return buf;
}

ojson family_counts_json(const std::map<std::string, long>& counts) {
  ojson j = ojson::object();
  for (const auto& f : family_names())
    if (counts.count(f)) j[f] = counts.at(f);
  for (const auto& [f, n] : counts)
    if (!j.contains(f)) j[f] = n;
  return j;
}

}  // namespace adallava::synth
