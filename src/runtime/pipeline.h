// The deployment path: exported model + its embedded tokenizer and preprocessing + the
// conversation template -> an answer with its execution plan and timings. Depends on LibTorch,
// OpenCV (image) and SentencePiece (text) only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/image/preprocess.h"
#include "data/text/tokenizer.h"
#include "runtime/exported_model.h"

namespace adallava::runtime {

struct RuntimeOptions {
  ArtifactOptions artifact;
  int threads = 0;  // intra-op threads; 0 = leave LibTorch's setting
};

struct AnswerOptions {
  double budget = 1.0;
  int max_new_tokens = 128;
  bool stop_at_eos = true;
  std::string conv_mode;  // empty = the artifact's (vicuna_v1)
};

struct RuntimeAnswer {
  std::string text;
  std::vector<int64_t> tokens;  // new tokens (EOS included when it stopped the answer)
  bool stopped_by_eos = false;
  int64_t units = 0;                // k: switchable units the budget enables
  std::vector<int64_t> plan_heads;  // active heads per layer, -1 = skipped
  torch::Tensor plan;               // [L, 2, H]
  int64_t prompt_positions = 0;     // LLM positions of the prompt (incl. the latency token)
  double image_ms = 0, prefill_ms = 0, decode_ms = 0;
};

class ExportedPipeline {
 public:
  static ExportedPipeline load(const std::string& model_path, const RuntimeOptions& options = {});

  // Decoded and preprocessed as at export (pad to square for image_aspect_ratio "pad"): [C,S,S].
  torch::Tensor load_pixels(const std::string& image_path) const;
  std::vector<int64_t> prompt_ids(const std::string& question, bool has_image,
                                  const std::string& conv_mode) const;

  RuntimeAnswer answer(const std::string& image_path, const std::string& question,
                       const AnswerOptions& options);
  // The same from prepared inputs (pixels undefined = text only).
  RuntimeAnswer answer_ids(const std::vector<int64_t>& ids, const torch::Tensor& pixels,
                           const AnswerOptions& options);

  ExportedModel model;
  text::Tokenizer tokenizer;
  image::PreprocessConfig preprocess;
  bool pad_to_square = true;

 private:
  ExportedPipeline(ExportedModel m, text::Tokenizer t)
      : model(std::move(m)), tokenizer(std::move(t)) {}
};

// Our preprocess.json (written by the exporter) -> PreprocessConfig; errors name `context`.
image::PreprocessConfig preprocess_from_json(const nlohmann::json& j, const std::string& context,
                                             bool* pad_to_square);

}  // namespace adallava::runtime
