// The user-level inference path: checkpoint + tokenizer + preprocessing + generation.
// The generate command, evaluation and benchmarks all go through this.
#pragma once

#include <string>
#include <vector>

#include "data/text/tokenizer.h"
#include "model/generation.h"
#include "model/loader.h"

namespace adallava::model {

struct Question {
  std::string text;        // user message; "<image>\n" is added when an image is given
  std::string image_path;  // empty = text-only
};

struct Answer {
  std::string text;  // decoded, special tokens skipped, stripped
  GenerationResult generation;
};

class LlavaPipeline {
 public:
  static LlavaPipeline load(const std::string& checkpoint_dir, const LoadOptions& options);

  // Decodes and preprocesses an image file as LLaVA does for this checkpoint (pad to square
  // when image_aspect_ratio is "pad"). Returns [C,S,S] in the model's dtype.
  torch::Tensor load_pixels(const std::string& image_path) const;
  // The conversation prompt and its ids (-200 at the image).
  std::string prompt_for(const Question& q, const std::string& conv_mode) const;
  std::vector<int64_t> prompt_ids(const std::string& prompt) const;

  // Answers a batch of questions together.
  std::vector<Answer> answer(const std::vector<Question>& questions, const std::string& conv_mode,
                             const GenerationOptions& options);

  LoadedLlava loaded;
  text::Tokenizer tokenizer;
  c10::ScalarType dtype = c10::ScalarType::Float;
};

// PixelTensor (CHW float) -> torch tensor [C,H,W].
torch::Tensor to_tensor(const image::PixelTensor& pixels);

}  // namespace adallava::model
