#include "runtime/pipeline.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <torch/script.h>
#include <torch/torch.h>
#include <unistd.h>

#include "common/error.h"
#include "data/text/conversation.h"

namespace adallava::runtime {
namespace {

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

// text::Tokenizer loads from a path; the model bytes live in the archive, so they go through a
// private temporary file that is removed right after loading.
text::Tokenizer tokenizer_from_bytes(const std::string& bytes, const std::string& context) {
  if (bytes.empty()) fail("{}: the archive carries no tokenizer.model", context);
  std::string pattern =
      (std::filesystem::temp_directory_path() / "adallava-tokenizer-XXXXXX").string();
  std::vector<char> name(pattern.begin(), pattern.end());
  name.push_back('\0');
  const int fd = mkstemp(name.data());
  if (fd < 0) fail("{}: cannot create a temporary file for the tokenizer", context);
  close(fd);
  const std::string path(name.data());
  struct Remove {
    std::string p;
    ~Remove() { std::remove(p.c_str()); }
  } remove_later{path};
  {
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) fail("{}: cannot write the tokenizer to {}", context, path);
  }
  try {
    return text::Tokenizer::load(path);
  } catch (const std::exception& e) {
    fail("{}: embedded tokenizer.model: {}", context, e.what());
  }
}

}  // namespace

image::PreprocessConfig preprocess_from_json(const nlohmann::json& j, const std::string& context,
                                             bool* pad_to_square) {
  image::PreprocessConfig p;
  try {
    p.shortest_edge = j.at("shortest_edge").get<int>();
    p.crop_height = j.at("crop_height").get<int>();
    p.crop_width = j.at("crop_width").get<int>();
    p.resize_height = j.at("resize_height").get<int>();
    p.resize_width = j.at("resize_width").get<int>();
    p.do_resize = j.at("do_resize").get<bool>();
    p.do_center_crop = j.at("do_center_crop").get<bool>();
    p.do_rescale = j.at("do_rescale").get<bool>();
    p.do_normalize = j.at("do_normalize").get<bool>();
    p.do_convert_rgb = j.at("do_convert_rgb").get<bool>();
    p.rescale_factor = j.at("rescale_factor").get<double>();
    p.image_mean = j.at("image_mean").get<std::array<float, 3>>();
    p.image_std = j.at("image_std").get<std::array<float, 3>>();
    p.resample = j.at("resample").get<int>();
    *pad_to_square = j.at("pad_to_square").get<bool>();
  } catch (const nlohmann::json::exception& e) {
    fail("{}: preprocess.json: {}", context, e.what());
  }
  return p;
}

ExportedPipeline ExportedPipeline::load(const std::string& model_path,
                                        const RuntimeOptions& options) {
  if (options.threads > 0) torch::set_num_threads(options.threads);
  auto model = ExportedModel::load(model_path, options.artifact);
  auto tokenizer = tokenizer_from_bytes(model.artifact().tokenizer_model, model_path);
  ExportedPipeline p(std::move(model), std::move(tokenizer));
  p.preprocess = preprocess_from_json(p.model.artifact().preprocess, model_path, &p.pad_to_square);
  return p;
}

torch::Tensor ExportedPipeline::load_pixels(const std::string& image_path) const {
  auto px = image::preprocess(image::decode_image_file(image_path), preprocess, pad_to_square);
  return torch::from_blob(const_cast<float*>(px.values.data()), {px.channels, px.height, px.width},
                          torch::kFloat32)
      .clone();
}

std::vector<int64_t> ExportedPipeline::prompt_ids(const std::string& question, bool has_image,
                                                  const std::string& conv_mode) const {
  const std::string mode =
      conv_mode.empty() ? model.artifact().config.value("conv_mode", "vicuna_v1") : conv_mode;
  const auto prompt =
      text::build_question_prompt(text::conversation_template(mode), question, has_image);
  return tokenizer.encode_with_image(prompt);
}

RuntimeAnswer ExportedPipeline::answer(const std::string& image_path, const std::string& question,
                                       const AnswerOptions& options) {
  torch::Tensor pixels;
  if (!image_path.empty()) pixels = load_pixels(image_path);
  return answer_ids(prompt_ids(question, !image_path.empty(), options.conv_mode), pixels, options);
}

RuntimeAnswer ExportedPipeline::answer_ids(const std::vector<int64_t>& ids,
                                           const torch::Tensor& pixels,
                                           const AnswerOptions& options) {
  if (options.max_new_tokens < 0)
    fail("max_new_tokens must be >= 0, got {}", options.max_new_tokens);
  torch::NoGradGuard no_grad;
  RuntimeAnswer out;
  out.units = model.budget_to_units(options.budget);

  const auto t0 = std::chrono::steady_clock::now();
  torch::Tensor features;
  if (pixels.defined()) features = model.encode_image(pixels);
  out.image_ms = ms_since(t0);

  const auto t1 = std::chrono::steady_clock::now();
  auto p = model.prefill(ids, features, options.budget, options.max_new_tokens);
  out.prefill_ms = ms_since(t1);
  out.plan = p.state.plan;
  out.prompt_positions = p.state.cache.toTuple()->elements()[2].toInt();

  const int64_t eos = model.eos_token_id();
  auto next = p.logits[-1];
  const auto t2 = std::chrono::steady_clock::now();
  for (int step = 0; step < options.max_new_tokens; ++step) {
    const int64_t token = next.argmax().item<int64_t>();
    out.tokens.push_back(token);
    if (options.stop_at_eos && token == eos) {
      out.stopped_by_eos = true;
      break;
    }
    if (step + 1 == options.max_new_tokens) break;
    next = model.decode_step(token, p.state);
  }
  out.decode_ms = ms_since(t2);
  out.plan_heads = model.plan_heads(out.plan);
  out.text = tokenizer.decode_answer(out.tokens);
  return out;
}

}  // namespace adallava::runtime
