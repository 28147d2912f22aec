#include "train/llava_checkpoint.h"

#include <filesystem>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/files.h"

namespace adallava::train {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const std::string kTowerPrefix = "model.vision_tower.vision_tower.";

void copy_file_into(const std::string& source, const std::string& dir) {
  std::error_code ec;
  const fs::path target = fs::path(dir) / fs::path(source).filename();
  fs::copy_file(source, target, fs::copy_options::overwrite_existing, ec);
  if (ec) fail("{}: cannot copy to {}: {}", source, target.string(), ec.message());
}

std::string dtype_name(const io::StateDict& state) {
  for (const auto& [name, t] : state)
    if (t.is_floating_point()) return t.scalar_type() == torch::kBFloat16 ? "bfloat16" : "float32";
  return "float32";
}

// HF's LlamaTokenizer files, for a tokenizer that came without them.
void write_default_tokenizer_config(const std::string& dir, int64_t max_length) {
  json cfg = {{"add_bos_token", true},
              {"add_eos_token", false},
              {"bos_token", "<s>"},
              {"eos_token", "</s>"},
              {"unk_token", "<unk>"},
              {"pad_token", nullptr},
              {"legacy", false},
              {"model_max_length", max_length},
              {"padding_side", "right"},
              {"clean_up_tokenization_spaces", false},
              {"tokenizer_class", "LlamaTokenizer"}};
  write_text_file_atomic(join_path(dir, "tokenizer_config.json"), cfg.dump(2) + "\n");
  json special = {{"bos_token", "<s>"}, {"eos_token", "</s>"}, {"unk_token", "<unk>"}};
  write_text_file_atomic(join_path(dir, "special_tokens_map.json"), special.dump(2) + "\n");
}

}  // namespace

io::StateDict module_state(const torch::nn::Module& module) {
  io::StateDict state;
  for (const auto& p : module.named_parameters(/*recurse=*/true))
    state[p.key()] = p.value().detach();
  for (const auto& b : module.named_buffers(/*recurse=*/true)) state[b.key()] = b.value().detach();
  return state;
}

std::string clip_preprocessor_json(int image_size) {
  json j = {{"crop_size", {{"height", image_size}, {"width", image_size}}},
            {"do_center_crop", true},
            {"do_convert_rgb", true},
            {"do_normalize", true},
            {"do_rescale", true},
            {"do_resize", true},
            {"image_mean", {0.48145466, 0.4578275, 0.40821073}},
            {"image_processor_type", "CLIPImageProcessor"},
            {"image_std", {0.26862954, 0.26130258, 0.27577711}},
            {"resample", 3},
            {"rescale_factor", 1.0 / 255.0},
            {"size", {{"shortest_edge", image_size}}}};
  return j.dump(2) + "\n";
}

void save_clip_vision_folder(const io::StateDict& tower, const model::VisionConfig& config,
                             const std::string& preprocessor_json, const std::string& dir) {
  fs::create_directories(dir);
  io::save_safetensors(join_path(dir, "model.safetensors"), tower);
  json tower_cfg = config.to_json();
  tower_cfg["torch_dtype"] = dtype_name(tower);
  write_text_file_atomic(join_path(dir, "config.json"), tower_cfg.dump(2) + "\n");
  write_text_file_atomic(join_path(dir, "preprocessor_config.json"), preprocessor_json);
}

void save_llava_weights(const model::LlavaForCausalLM& model, const CheckpointAssets& assets,
                        const std::string& dir) {
  fs::create_directories(dir);
  io::StateDict all = module_state(*model);
  io::StateDict llm_and_projector, tower;
  for (auto& [name, t] : all) {
    if (name.rfind(kTowerPrefix, 0) == 0) {
      tower[name.substr(kTowerPrefix.size())] = t;  // -> vision_model.*
    } else {
      llm_and_projector[name] = t;
    }
  }

  std::string preprocessor = assets.preprocessor_config.empty()
                                 ? clip_preprocessor_json(model->vision_config.image_size)
                                 : read_text_file(assets.preprocessor_config);

  model::LlavaConfig cfg = model->config;
  if (assets.external_vision_tower.empty()) {
    save_clip_vision_folder(tower, model->vision_config, preprocessor,
                            join_path(dir, kOwnVisionTowerDir));
    cfg.vision_tower = kOwnVisionTowerDir;
  } else {
    cfg.vision_tower = fs::absolute(assets.external_vision_tower).lexically_normal().string();
  }

  io::save_safetensors(join_path(dir, "model.safetensors"), llm_and_projector);
  json config_json = model::llava_config_to_json(cfg);
  config_json["torch_dtype"] = dtype_name(llm_and_projector);
  write_text_file_atomic(join_path(dir, "config.json"), config_json.dump(2) + "\n");
  write_text_file_atomic(join_path(dir, "preprocessor_config.json"), preprocessor);

  if (!assets.tokenizer_model.empty()) copy_file_into(assets.tokenizer_model, dir);
  bool have_tokenizer_config = false;
  if (!assets.tokenizer_config_dir.empty()) {
    for (const char* name : {"tokenizer_config.json", "special_tokens_map.json"}) {
      const std::string path = join_path(assets.tokenizer_config_dir, name);
      if (file_exists(path)) {
        copy_file_into(path, dir);
        have_tokenizer_config = true;
      }
    }
  }
  if (!have_tokenizer_config)
    write_default_tokenizer_config(dir, cfg.tokenizer_model_max_length.value_or(2048));
}

}  // namespace adallava::train
