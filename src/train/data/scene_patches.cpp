#include "train/data/scene_patches.h"

#include <fstream>

#include <torch/torch.h>

#include "common/error.h"
#include "common/files.h"
#include "data/synth/scene.h"
#include "data/synth/vocab.h"

namespace adallava::train {

const std::array<const char*, ScenePatchHeads::kCount>& ScenePatchHeads::names() {
  static const std::array<const char*, kCount> n = {"shape", "colour", "letter", "size"};
  return n;
}

const std::array<int64_t, ScenePatchHeads::kCount>& ScenePatchHeads::classes() {
  static const std::array<int64_t, kCount> c = {
      1 + synth::kNumShapes, 1 + synth::kNumColours,
      1 + static_cast<int64_t>(synth::letter_names().size()), 3};
  return c;
}

int64_t ScenePatchHeads::total_classes() {
  int64_t n = 0;
  for (int64_t c : classes()) n += c;
  return n;
}

namespace {

std::vector<int64_t> patch_labels(const synth::Scene& scene, int64_t grid,
                                  const std::string& where) {
  ADALLAVA_CHECK(scene.width == scene.height, "{}: scene is {}x{}, expected a square image", where,
                 scene.width, scene.height);
  std::vector<int64_t> out(static_cast<size_t>(grid * grid * ScenePatchHeads::kCount), 0);
  const auto& letters = synth::letter_names();
  for (const auto& o : scene.objects) {
    ADALLAVA_CHECK(o.x >= 0 && o.x < scene.width && o.y >= 0 && o.y < scene.height,
                   "{}: object centre ({}, {}) outside the {} px image", where, o.x, o.y,
                   scene.width);
    const int64_t col = o.x * grid / scene.width, row = o.y * grid / scene.height;
    int64_t* l = &out[static_cast<size_t>((row * grid + col) * ScenePatchHeads::kCount)];
    l[1] = 1 + static_cast<int64_t>(o.colour);
    if (o.is_letter) {
      const auto it = std::find(letters.begin(), letters.end(), o.letter);
      ADALLAVA_CHECK(it != letters.end(), "{}: unknown letter '{}'", where, o.letter);
      l[0] = 0;
      l[2] = 1 + (it - letters.begin());
      l[3] = 0;
    } else {
      l[0] = 1 + static_cast<int64_t>(o.shape);
      l[2] = 0;
      l[3] = o.size == synth::SizeClass::Big ? 2 : 1;
    }
  }
  return out;
}

}  // namespace

ScenePatchSet::ScenePatchSet(ScenePatchSetOptions options) : options_(std::move(options)) {}

std::shared_ptr<const ScenePatchSet> ScenePatchSet::open(const ScenePatchSetOptions& options) {
  ADALLAVA_CHECK(options.patch_size > 0 && options.image_size % options.patch_size == 0,
                 "scene patches: patch size {} does not divide image size {}", options.patch_size,
                 options.image_size);
  std::shared_ptr<ScenePatchSet> set(new ScenePatchSet(options));
  set->grid_ = options.image_size / options.patch_size;
  std::ifstream in(options.scenes_path);
  if (!in) fail("{}: cannot open (scenes.jsonl of `adallava data synth`)", options.scenes_path);
  std::string text;
  int line = 0;
  while (std::getline(in, text)) {
    ++line;
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = fmt::format("{}:{}", options.scenes_path, line);
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
      fail("{}: not JSON: {}", where, e.what());
    }
    ADALLAVA_CHECK(
        j.is_object() && j.contains("image") && j["image"].is_string() && j.contains("scene"),
        "{}: expected {{\"image\": path, \"split\": name, \"scene\": {{...}}}}", where);
    if (j.value("split", std::string()) != options.split) continue;
    const synth::Scene scene = synth::scene_from_json(j["scene"], where);
    ADALLAVA_CHECK(scene.width == options.image_size,
                   "{}: scene drawn at {} px but the vision tower takes {} px (generate the suite "
                   "with --image-size {})",
                   where, scene.width, options.image_size, options.image_size);
    set->labels_.push_back(patch_labels(scene, set->grid_, where));
    set->images_.push_back(j["image"].get<std::string>());
    set->lines_.push_back(line);
  }
  ADALLAVA_CHECK(!set->images_.empty(), "{}: no scene of split '{}'", options.scenes_path,
                 options.split);
  return set;
}

torch::Tensor ScenePatchSet::load_image(size_t i) const {
  const std::string path = join_path(options_.image_folder, images_.at(i));
  image::PixelTensor pixels;
  try {
    pixels = image::preprocess(image::decode_image_file(path), options_.preprocess,
                               /*pad_to_square=*/true);
  } catch (const Error& e) {
    fail("{}:{}: {}", options_.scenes_path, lines_.at(i), e.what());
  }
  return torch::from_blob(pixels.values.data(), {pixels.channels, pixels.height, pixels.width},
                          torch::kFloat32)
      .clone();
}

ScenePatchStream::ScenePatchStream(std::shared_ptr<const ScenePatchSet> set, SamplerOptions sampler)
    : set_(std::move(set)), sampler_(sampler) {}

const std::vector<std::vector<int64_t>>& ScenePatchStream::batches_of(int64_t epoch) {
  if (cached_epoch_ != epoch) {
    // Every record is an image record: only the sign of the "modality length" matters.
    const std::vector<int64_t> lengths(set_->size(), 1);
    cached_batches_ = epoch_batches(lengths, sampler_, epoch);
    cached_epoch_ = epoch;
  }
  return cached_batches_;
}

int64_t ScenePatchStream::batches_per_epoch() const {
  const int64_t per_rank =
      (static_cast<int64_t>(set_->size()) + sampler_.world_size - 1) / sampler_.world_size;
  return (per_rank + sampler_.micro_batch_size - 1) / sampler_.micro_batch_size;
}

std::optional<TrainBatch> ScenePatchStream::next() {
  if (epoch_end_pending_) {
    epoch_end_pending_ = false;
    ++epoch_;
    consumed_ = 0;
    return std::nullopt;
  }
  const auto& batches = batches_of(epoch_);
  const auto& positions = batches.at(static_cast<size_t>(consumed_));
  TrainBatch batch;
  for (int64_t p : positions) {
    const auto i = static_cast<size_t>(p);
    batch.images.push_back(set_->load_image(i));
    batch.targets.push_back(
        torch::tensor(set_->labels(i), torch::kInt64).view({set_->patches(), -1}));
    batch.record_indices.push_back(p);
  }
  if (++consumed_ == static_cast<int64_t>(batches.size())) epoch_end_pending_ = true;
  return batch;
}

nlohmann::json ScenePatchStream::position() const {
  // At an epoch's end consumed_ equals the epoch's batch count until next() reports the end.
  return {{"epoch", epoch_}, {"batches_consumed", consumed_}, {"seed", sampler_.seed}};
}

void ScenePatchStream::restore(const nlohmann::json& position) {
  ADALLAVA_CHECK(
      position.is_object() && position.contains("epoch") && position.contains("batches_consumed"),
      "scene patches: data position must hold epoch and batches_consumed, got {}", position.dump());
  ADALLAVA_CHECK(position.value("seed", sampler_.seed) == sampler_.seed,
                 "scene patches: the checkpoint's data seed {} differs from schedule.seed {}",
                 position.value("seed", sampler_.seed), sampler_.seed);
  epoch_ = position["epoch"].get<int64_t>();
  consumed_ = position["batches_consumed"].get<int64_t>();
  const auto batches = static_cast<int64_t>(batches_of(epoch_).size());
  ADALLAVA_CHECK(epoch_ >= 0 && consumed_ >= 0 && consumed_ <= batches,
                 "scene patches: data position {} of epoch {} is outside its {} batches", consumed_,
                 epoch_, batches);
  epoch_end_pending_ = consumed_ == batches;
}

}  // namespace adallava::train
