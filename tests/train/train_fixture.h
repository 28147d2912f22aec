// Helpers for trainer tests: the golden tiny LLaVA, hand-built micro-batches, an in-memory
// batch stream and configs resolved from overrides.
#pragma once

#include <fstream>
#include <string>
#include <vector>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "config/train_config.h"
#include "model/loader.h"
#include "support/paths.h"
#include "train/batch_stream.h"
#include "train/llava_checkpoint.h"
#include "train/objective.h"

namespace adallava::test {

// `count` instruction records over the golden test image (every 4th one text-only), answers
// cycling through `answers`, one JSON object per line.
inline void write_tiny_instruction_set(const std::string& path, int count,
                                       const std::vector<std::string>& answers) {
  std::ofstream data(path);
  for (int i = 0; i < count; ++i) {
    nlohmann::json rec = {{"id", "r" + std::to_string(i)}};
    const bool image = i % 4 != 3;
    if (image) rec["image"] = "synthetic_150x100.png";
    rec["conversations"] = {
        {{"from", "human"}, {"value", std::string(image ? "<image>\n" : "") + "What is shown?"}},
        {{"from", "gpt"}, {"value", answers[i % answers.size()]}}};
    data << rec.dump() << "\n";
  }
}

inline std::string tiny_checkpoint() {
  return golden("llava-tiny/llava15_orig");
}

// Samples with a random prompt (no loss), an image placeholder in some, and a random answer;
// answer lengths differ so per-micro-batch means differ from the pooled mean.
inline std::vector<train::TrainBatch> make_batches(int num_batches, int batch_size, uint64_t seed,
                                                   int image_size = 112) {
  torch::manual_seed(seed);
  std::vector<train::TrainBatch> out;
  int64_t record = 0;
  for (int b = 0; b < num_batches; ++b) {
    train::TrainBatch batch;
    for (int s = 0; s < batch_size; ++s, ++record) {
      model::SampleTokens sample;
      sample.ids.push_back(1);
      sample.labels.push_back(-100);
      const bool with_image = record % 3 != 2;
      const int prompt = 3 + static_cast<int>(record % 4);
      for (int i = 0; i < prompt; ++i) {
        sample.ids.push_back(torch::randint(3, 512, {1}).item<int64_t>());
        sample.labels.push_back(-100);
        if (i == 0 && with_image) {
          sample.ids.push_back(-200);
          sample.labels.push_back(-100);
        }
      }
      const int answer = 2 + static_cast<int>((record * 5) % 7);
      for (int i = 0; i < answer; ++i) {
        const int64_t id = torch::randint(3, 512, {1}).item<int64_t>();
        sample.ids.push_back(id);
        sample.labels.push_back(id);
      }
      sample.ids.push_back(2);
      sample.labels.push_back(2);
      if (with_image) batch.images.push_back(torch::randn({3, image_size, image_size}));
      batch.samples.push_back(sample);
      batch.record_indices.push_back(record);
    }
    out.push_back(batch);
  }
  return out;
}

// Concatenates consecutive batches (one big batch = several micro-batches).
inline train::TrainBatch merge(const std::vector<train::TrainBatch>& parts) {
  train::TrainBatch m;
  for (const auto& p : parts) {
    m.samples.insert(m.samples.end(), p.samples.begin(), p.samples.end());
    m.images.insert(m.images.end(), p.images.begin(), p.images.end());
    m.record_indices.insert(m.record_indices.end(), p.record_indices.begin(),
                            p.record_indices.end());
  }
  return m;
}

// The same batches every epoch, rotated by the epoch number so the position matters.
class VectorStream : public train::MicroBatchStream {
 public:
  explicit VectorStream(std::vector<train::TrainBatch> batches) : batches_(std::move(batches)) {}
  int64_t batches_per_epoch() const override { return static_cast<int64_t>(batches_.size()); }
  std::optional<train::TrainBatch> next() override {
    if (index_ == static_cast<int64_t>(batches_.size())) {
      index_ = 0;
      ++epoch_;
      return std::nullopt;
    }
    const int64_t n = static_cast<int64_t>(batches_.size());
    return batches_[(index_++ + epoch_) % n];
  }
  nlohmann::json position() const override { return {{"epoch", epoch_}, {"index", index_}}; }
  void restore(const nlohmann::json& p) override {
    epoch_ = p.at("epoch").get<int64_t>();
    index_ = p.at("index").get<int64_t>();
  }
  int64_t epoch_ = 0, index_ = 0;

 private:
  std::vector<train::TrainBatch> batches_;
};

// A TrainConfig for the tiny golden checkpoint; `overrides` go after the defaults below.
inline config::TrainConfig tiny_config(const std::string& out_dir,
                                       std::vector<std::string> overrides = {}) {
  std::vector<std::string> all = {"data.train=unused.jsonl",
                                  "model.init=" + tiny_checkpoint(),
                                  "optimizer.lr=3e-3",
                                  "optimizer.grad_clip=1.0",
                                  "schedule.global_batch_size=4",
                                  "schedule.micro_batch_size=2",
                                  "schedule.warmup_steps=1",
                                  "checkpointing.output_dir=" + out_dir,
                                  "checkpointing.save_every=never",
                                  "logging.log_every=1u",
                                  "logging.progress=off",
                                  "trainable.vision_tower=true"};
  all.insert(all.end(), overrides.begin(), overrides.end());
  return config::to_train_config(config::resolve_train_config({}, all));
}

inline train::LlavaObjective tiny_objective() {
  auto loaded = model::load_llava(tiny_checkpoint());
  loaded.model->train();
  train::CheckpointAssets assets;
  assets.tokenizer_model = loaded.tokenizer_path;
  assets.tokenizer_config_dir = tiny_checkpoint();
  assets.preprocessor_config = golden("llava-tiny/clip_vision/preprocessor_config.json");
  return train::LlavaObjective(loaded.model, assets);
}

inline torch::Tensor batch_logits(model::LlavaForCausalLM& m, const train::TrainBatch& batch) {
  torch::NoGradGuard no_grad;
  auto features = m->encode_images(torch::stack(batch.images)).unbind(0);
  auto in = m->prepare_inputs(batch.samples, features, model::PaddingSide::Right);
  return m->logits(m->decode(in.embeds, in.attention_mask, in.position_ids, nullptr));
}

inline double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

inline double max_param_diff(torch::nn::Module& a, torch::nn::Module& b) {
  auto sa = train::module_state(a);
  auto sb = train::module_state(b);
  double worst = 0;
  for (const auto& [name, t] : sa)
    worst = std::max(
        worst,
        (t.to(torch::kFloat64) - sb.at(name).to(torch::kFloat64)).abs().max().item<double>());
  return worst;
}

}  // namespace adallava::test
