// Architecture configs read from checkpoint config.json files, in both LLaVA-1.5 layouts.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace adallava::model {

struct VisionConfig {
  int hidden_size = 1024;
  int intermediate_size = 4096;
  int num_layers = 24;
  int num_heads = 16;
  int image_size = 336;
  int patch_size = 14;
  int num_channels = 3;
  double layer_norm_eps = 1e-5;
  std::string hidden_act = "quick_gelu";

  int num_patches() const { return (image_size / patch_size) * (image_size / patch_size); }
  int head_dim() const { return hidden_size / num_heads; }
  nlohmann::json to_json() const;
};

struct LlamaConfig {
  int vocab_size = 32000;
  int hidden_size = 4096;
  int intermediate_size = 11008;
  int num_layers = 32;
  int num_heads = 32;
  int num_kv_heads = 32;
  double rms_norm_eps = 1e-5;
  double rope_theta = 10000.0;
  int max_position_embeddings = 4096;
  bool tie_word_embeddings = false;
  int64_t bos_token_id = 1;
  int64_t eos_token_id = 2;
  int64_t pad_token_id = 0;

  int head_dim() const { return hidden_size / num_heads; }
};

enum class CheckpointLayout {
  LlavaOriginal,  // liuhaotian/llava-v1.5-*: model.*, lm_head.*, config with mm_* keys
  LlavaHf,        // llava-hf LlavaForConditionalGeneration: language_model.*, text/vision_config
};

struct LlavaConfig {
  CheckpointLayout layout = CheckpointLayout::LlavaOriginal;
  LlamaConfig text;
  std::optional<VisionConfig> vision;  // absent when the tower lives in another directory
  std::string projector_type = "mlp2x_gelu";
  int mm_hidden_size = 1024;
  int vision_select_layer = -2;
  std::string vision_select_feature = "patch";  // "patch" drops CLS, "cls_patch" keeps it
  std::string image_aspect_ratio = "pad";
  std::string vision_tower;                       // mm_vision_tower: a hub id or a directory
  int64_t image_token_index = -200;               // placeholder id in input_ids
  std::optional<int> tokenizer_model_max_length;  // truncation after splicing, when present
  std::string config_path;                        // the config.json this came from
  nlohmann::json raw;                             // every key, for extensions (AdaLLaVA)
};

// Reads <dir>/config.json and detects the layout; errors name the file and the key.
LlavaConfig load_llava_config(const std::string& dir);
// HF CLIPVisionConfig (or CLIPConfig's vision_config) from a JSON object.
VisionConfig parse_vision_config(const nlohmann::json& j, const std::string& context);
// <dir>/config.json of a CLIP vision tower checkpoint (CLIPVisionModel or full CLIPModel).
VisionConfig load_vision_config(const std::string& dir);

// Writes the original-layout config.json for a model (used by our own checkpoints).
nlohmann::json llava_config_to_json(const LlavaConfig& cfg);

}  // namespace adallava::model
