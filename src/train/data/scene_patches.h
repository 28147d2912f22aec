// Vision-tower pretraining data: synthetic-suite images with per-patch labels of what each ViT
// patch holds, read from the suite's scenes.jsonl.
//
// No pretrained CLIP can be had offline, and a ViT trained from scratch only through the LLM's
// caption loss learns colours but not shapes or letters within the demo's time budget (measured:
// docs/demo.md). Dense labels, one set per patch, are a far stronger signal: they stand in for
// the contrastive pretraining a real CLIP tower went through, before LLaVA's stage 1.
//
// Labels of patch p (row-major over the grid of image_size / patch_size patches), one class index
// per head, 0 = nothing there: the object whose centre lies in the patch (the last one listed if
// two do) gives its shape (1 + synth::Shape), colour (1 + synth::Colour; letters have theirs),
// letter (1 + index in synth::letter_names()) and size (1 small, 2 big; letters 0).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/image/preprocess.h"
#include "train/batch_stream.h"
#include "train/data/sampler.h"

namespace adallava::train {

// Heads of the patch labels, in target column order, and their class counts (with "nothing").
struct ScenePatchHeads {
  static constexpr int kCount = 4;
  static const std::array<const char*, kCount>& names();  // shape, colour, letter, size
  static const std::array<int64_t, kCount>& classes();
  static int64_t total_classes();
};

struct ScenePatchSetOptions {
  std::string scenes_path;   // scenes.jsonl of `adallava data synth`
  std::string split;         // "train" or "val": lines whose "split" differs are left out
  std::string image_folder;  // folder the "image" paths are relative to (the suite root)
  int image_size = 96;       // the tower's input side; scenes must have been drawn at it
  int patch_size = 16;
  image::PreprocessConfig preprocess;
};

class ScenePatchSet {
 public:
  // Reads and checks every line of the split; errors name the file and line.
  static std::shared_ptr<const ScenePatchSet> open(const ScenePatchSetOptions& options);

  size_t size() const { return images_.size(); }
  const std::string& path() const { return options_.scenes_path; }
  int64_t patches() const { return grid_ * grid_; }
  // [patches, ScenePatchHeads::kCount] int64 class indices of scene i.
  const std::vector<int64_t>& labels(size_t i) const { return labels_[i]; }
  // [3, S, S] float32 CLIP-normalised pixels of scene i (decoded on each call).
  torch::Tensor load_image(size_t i) const;

 private:
  explicit ScenePatchSet(ScenePatchSetOptions options);
  ScenePatchSetOptions options_;
  int64_t grid_ = 0;
  std::vector<std::string> images_;
  std::vector<int> lines_;
  std::vector<std::vector<int64_t>> labels_;
};

// Micro-batches of a ScenePatchSet in the trainer's sampler order (seeded permutation per epoch,
// sharded over ranks), each image with its labels in TrainBatch::targets.
class ScenePatchStream : public MicroBatchStream {
 public:
  ScenePatchStream(std::shared_ptr<const ScenePatchSet> set, SamplerOptions sampler);
  int64_t batches_per_epoch() const override;
  std::optional<TrainBatch> next() override;
  nlohmann::json position() const override;
  void restore(const nlohmann::json& position) override;

 private:
  const std::vector<std::vector<int64_t>>& batches_of(int64_t epoch);
  std::shared_ptr<const ScenePatchSet> set_;
  SamplerOptions sampler_;
  int64_t epoch_ = 0, consumed_ = 0;
  bool epoch_end_pending_ = false;
  int64_t cached_epoch_ = -1;
  std::vector<std::vector<int64_t>> cached_batches_;
};

}  // namespace adallava::train
