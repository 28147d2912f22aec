// Shared state of one generation run: options, output folder, the tokenizer corpus being
// collected, and helpers every split and benchmark writer uses.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/synth/rng.h"
#include "data/synth/scene.h"

namespace adallava::synth {

using ojson = nlohmann::ordered_json;

// Response-format suffixes exactly as LLaVA-1.5's data and eval question files carry them.
extern const char* const
    kShortAnswerSuffix;  // "\nAnswer the question using a single word or phrase."
extern const char* const
    kMultipleChoiceSuffix;  // "\nAnswer with the option's letter from the given choices directly."
// The hint some multiple-choice questions carry (ScienceQA's "Context: ..." line, MMBench's hint).
extern const char* const kShapesHint;  // "Look at the shapes in the picture."

struct SizePreset {
  std::string name;
  int train_images;
  int val_images;
  int questions_per_image;
  int vqav2_images;    // 3 questions each
  int gqa_images;      // 2 questions each
  int textvqa_images;  // 1 question each
  int scienceqa_problems;
  int pope_images;  // 6 questions each, in each of 3 splits
  int mme_images_per_category;
  int mmbench_questions;  // before circular copies
};

// "tiny", "small" or "default"; throws adallava::Error otherwise.
SizePreset size_preset(const std::string& name);

class SuiteContext {
 public:
  SuiteContext(std::string root, uint64_t seed, int image_size, SizePreset preset);

  uint64_t seed() const { return seed_; }
  int image_size() const { return image_size_; }
  const SizePreset& preset() const { return preset_; }
  const std::string& root() const { return root_; }

  Rng stream(const std::string& name, uint64_t index) const {
    return Rng::stream(seed_, name, index);
  }

  // Writers take paths relative to the output folder, create parent folders and record every file.
  void write_text(const std::string& rel, const std::string& text);
  void write_bytes(const std::string& rel, const std::vector<unsigned char>& bytes);
  void write_json(const std::string& rel, const ojson& value);
  void write_jsonl(const std::string& rel, const std::vector<ojson>& lines);
  // Renders the scene and writes it as PNG; returns the PNG bytes.
  std::vector<unsigned char> write_scene_png(const std::string& rel, const Scene& scene);

  void add_corpus(const std::string& text) { corpus_.push_back(text); }
  const std::vector<std::string>& corpus() const { return corpus_; }
  const std::vector<std::string>& written_files() const { return written_; }

 private:
  std::string root_;
  uint64_t seed_;
  int image_size_;
  SizePreset preset_;
  std::vector<std::string> corpus_;
  std::vector<std::string> written_;
};

std::string base64_encode(const std::vector<unsigned char>& bytes);
// Zero-padded decimal, e.g. padded(12, 6) == "000012".
std::string padded(long value, int width);
// Per-family question counts as a JSON object in family order.
ojson family_counts_json(const std::map<std::string, long>& counts);

}  // namespace adallava::synth
