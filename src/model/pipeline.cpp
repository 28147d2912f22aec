#include "model/pipeline.h"

#include <torch/torch.h>

#include "common/error.h"
#include "data/text/conversation.h"

namespace adallava::model {

torch::Tensor to_tensor(const image::PixelTensor& pixels) {
  return torch::from_blob(const_cast<float*>(pixels.values.data()),
                          {pixels.channels, pixels.height, pixels.width}, torch::kFloat32)
      .clone();
}

LlavaPipeline LlavaPipeline::load(const std::string& checkpoint_dir, const LoadOptions& options) {
  LlavaPipeline p;
  p.loaded = load_llava(checkpoint_dir, options);
  p.tokenizer = text::Tokenizer::load(p.loaded.tokenizer_path);
  p.dtype = options.dtype;
  return p;
}

torch::Tensor LlavaPipeline::load_pixels(const std::string& image_path) const {
  auto rgb = image::decode_image_file(image_path);
  const bool pad = loaded.model->config.image_aspect_ratio == "pad";
  return to_tensor(image::preprocess(rgb, loaded.preprocess, pad)).to(dtype);
}

std::string LlavaPipeline::prompt_for(const Question& q, const std::string& conv_mode) const {
  const auto& tmpl = text::conversation_template(conv_mode);
  return text::build_question_prompt(tmpl, q.text, !q.image_path.empty());
}

std::vector<int64_t> LlavaPipeline::prompt_ids(const std::string& prompt) const {
  return tokenizer.encode_with_image(prompt);
}

std::vector<Answer> LlavaPipeline::answer(const std::vector<Question>& questions,
                                          const std::string& conv_mode,
                                          const GenerationOptions& options) {
  std::vector<GenerationRequest> requests;
  for (const auto& q : questions) {
    GenerationRequest r;
    r.ids = prompt_ids(prompt_for(q, conv_mode));
    int placeholders = 0;
    for (auto id : r.ids) placeholders += loaded.model->is_image_token(id) ? 1 : 0;
    if (!q.image_path.empty()) {
      r.pixels = load_pixels(q.image_path);
      if (placeholders != 1)
        fail("prompt '{}' must contain exactly one <image> when an image is given (found {})",
             q.text, placeholders);
    } else if (placeholders != 0) {
      fail("prompt '{}' contains <image> but no image was given", q.text);
    }
    requests.push_back(std::move(r));
  }
  auto generations = generate(loaded.model, requests, options);
  std::vector<Answer> answers;
  for (auto& g : generations) {
    Answer a;
    // Ids past the tokenizer's vocabulary are llava-hf's added <image>/<pad> rows: special
    // tokens, which skip_special_tokens drops as well.
    std::vector<int64_t> known;
    for (auto id : g.tokens)
      if (id < tokenizer.vocab_size()) known.push_back(id);
    a.text = tokenizer.decode_answer(known);
    a.generation = std::move(g);
    answers.push_back(std::move(a));
  }
  return answers;
}

}  // namespace adallava::model
