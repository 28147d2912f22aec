#include "model/config.h"

#include "common/error.h"
#include "common/files.h"

namespace adallava::model {

namespace {

using nlohmann::json;

// Reads a required key with a clear message naming the file and key.
template <typename T>
T required(const json& j, const std::string& key, const std::string& context) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) fail("{}: missing required key '{}'", context, key);
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    fail("{}: key '{}' has the wrong type ({})", context, key, it->dump());
  }
}

template <typename T>
T optional_key(const json& j, const std::string& key, T fallback, const std::string& context) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    fail("{}: key '{}' has the wrong type ({})", context, key, it->dump());
  }
}

void check_positive(int value, const char* key, const std::string& context) {
  if (value <= 0) fail("{}: key '{}' must be positive, got {}", context, key, value);
}

LlamaConfig parse_llama(const json& j, const std::string& context, bool hf_defaults) {
  LlamaConfig c;
  if (hf_defaults) {
    // llava-hf text_config is partial: absent keys take LlamaConfig's defaults.
    c.vocab_size = optional_key<int>(j, "vocab_size", 32000, context);
    c.hidden_size = optional_key<int>(j, "hidden_size", 4096, context);
    c.intermediate_size = optional_key<int>(j, "intermediate_size", 11008, context);
    c.num_layers = optional_key<int>(j, "num_hidden_layers", 32, context);
    c.num_heads = optional_key<int>(j, "num_attention_heads", 32, context);
  } else {
    c.vocab_size = required<int>(j, "vocab_size", context);
    c.hidden_size = required<int>(j, "hidden_size", context);
    c.intermediate_size = required<int>(j, "intermediate_size", context);
    c.num_layers = required<int>(j, "num_hidden_layers", context);
    c.num_heads = required<int>(j, "num_attention_heads", context);
  }
  c.num_kv_heads = optional_key<int>(j, "num_key_value_heads", c.num_heads, context);
  c.rms_norm_eps = optional_key<double>(j, "rms_norm_eps", 1e-6, context);
  c.rope_theta = optional_key<double>(j, "rope_theta", 10000.0, context);
  c.max_position_embeddings = optional_key<int>(j, "max_position_embeddings", 4096, context);
  c.tie_word_embeddings = optional_key<bool>(j, "tie_word_embeddings", false, context);
  c.bos_token_id = optional_key<int64_t>(j, "bos_token_id", 1, context);
  c.eos_token_id = optional_key<int64_t>(j, "eos_token_id", 2, context);
  c.pad_token_id = optional_key<int64_t>(j, "pad_token_id", 0, context);
  const auto act = optional_key<std::string>(j, "hidden_act", "silu", context);
  if (act != "silu") fail("{}: hidden_act '{}' is not supported (LLaMA uses silu)", context, act);
  if (j.contains("rope_scaling") && !j["rope_scaling"].is_null())
    fail("{}: rope_scaling is not supported", context);
  check_positive(c.vocab_size, "vocab_size", context);
  check_positive(c.hidden_size, "hidden_size", context);
  check_positive(c.num_layers, "num_hidden_layers", context);
  check_positive(c.num_heads, "num_attention_heads", context);
  check_positive(c.num_kv_heads, "num_key_value_heads", context);
  if (c.hidden_size % c.num_heads != 0)
    fail("{}: hidden_size {} is not divisible by num_attention_heads {}", context, c.hidden_size,
         c.num_heads);
  if (c.num_heads % c.num_kv_heads != 0)
    fail("{}: num_attention_heads {} is not a multiple of num_key_value_heads {}", context,
         c.num_heads, c.num_kv_heads);
  return c;
}

}  // namespace

nlohmann::json VisionConfig::to_json() const {
  return {{"architectures", {"CLIPVisionModel"}},
          {"model_type", "clip_vision_model"},
          {"hidden_size", hidden_size},
          {"intermediate_size", intermediate_size},
          {"num_hidden_layers", num_layers},
          {"num_attention_heads", num_heads},
          {"image_size", image_size},
          {"patch_size", patch_size},
          {"num_channels", num_channels},
          {"layer_norm_eps", layer_norm_eps},
          {"hidden_act", hidden_act}};
}

VisionConfig parse_vision_config(const json& j, const std::string& context) {
  VisionConfig v;
  v.hidden_size = optional_key<int>(j, "hidden_size", 768, context);
  v.intermediate_size = optional_key<int>(j, "intermediate_size", 3072, context);
  v.num_layers = optional_key<int>(j, "num_hidden_layers", 12, context);
  v.num_heads = optional_key<int>(j, "num_attention_heads", 12, context);
  v.image_size = optional_key<int>(j, "image_size", 224, context);
  v.patch_size = optional_key<int>(j, "patch_size", 32, context);
  v.num_channels = optional_key<int>(j, "num_channels", 3, context);
  v.layer_norm_eps = optional_key<double>(j, "layer_norm_eps", 1e-5, context);
  v.hidden_act = optional_key<std::string>(j, "hidden_act", "quick_gelu", context);
  if (v.hidden_act != "quick_gelu" && v.hidden_act != "gelu")
    fail("{}: vision hidden_act '{}' is not supported (quick_gelu or gelu)", context, v.hidden_act);
  if (v.hidden_size % v.num_heads != 0)
    fail("{}: vision hidden_size {} is not divisible by num_attention_heads {}", context,
         v.hidden_size, v.num_heads);
  if (v.image_size % v.patch_size != 0)
    fail("{}: image_size {} is not a multiple of patch_size {}", context, v.image_size,
         v.patch_size);
  return v;
}

VisionConfig load_vision_config(const std::string& dir) {
  const std::string path = join_path(dir, "config.json");
  if (!file_exists(path)) fail("{}: vision tower config not found", path);
  json j = read_json_file(path);
  if (j.contains("vision_config")) return parse_vision_config(j["vision_config"], path);
  return parse_vision_config(j, path);
}

LlavaConfig load_llava_config(const std::string& dir) {
  const std::string path = join_path(dir, "config.json");
  if (!file_exists(path)) fail("{}: checkpoint config not found", path);
  json j = read_json_file(path);
  if (!j.is_object()) fail("{}: expected a JSON object", path);

  LlavaConfig c;
  c.config_path = path;
  c.raw = j;
  if (j.contains("text_config")) {
    // llava-hf LlavaForConditionalGeneration.
    c.layout = CheckpointLayout::LlavaHf;
    c.text = parse_llama(j["text_config"], path + " (text_config)", /*hf_defaults=*/true);
    if (!j["text_config"].contains("vocab_size") && j.contains("vocab_size"))
      c.text.vocab_size = required<int>(j, "vocab_size", path);
    if (!j.contains("vision_config")) fail("{}: missing required key 'vision_config'", path);
    c.vision = parse_vision_config(j["vision_config"], path + " (vision_config)");
    c.mm_hidden_size = c.vision->hidden_size;
    const auto act = optional_key<std::string>(j, "projector_hidden_act", "gelu", path);
    if (act != "gelu") fail("{}: projector_hidden_act '{}' is not supported", path, act);
    c.projector_type = "mlp2x_gelu";
    c.vision_select_layer = optional_key<int>(j, "vision_feature_layer", -2, path);
    const auto strategy =
        optional_key<std::string>(j, "vision_feature_select_strategy", "default", path);
    if (strategy == "default") {
      c.vision_select_feature = "patch";
    } else if (strategy == "full") {
      c.vision_select_feature = "cls_patch";
    } else {
      fail("{}: unknown vision_feature_select_strategy '{}'", path, strategy);
    }
    c.image_token_index = required<int64_t>(j, "image_token_index", path);
    // The llava-hf processor does not pad to square; LLaVA's protocol does. Keep LLaVA's.
    c.image_aspect_ratio = "pad";
    c.text.pad_token_id = optional_key<int64_t>(j["text_config"], "pad_token_id", 0, path);
  } else {
    c.layout = CheckpointLayout::LlavaOriginal;
    c.text = parse_llama(j, path, /*hf_defaults=*/false);
    c.mm_hidden_size = required<int>(j, "mm_hidden_size", path);
    c.projector_type = optional_key<std::string>(j, "mm_projector_type", "linear", path);
    c.vision_select_layer = optional_key<int>(j, "mm_vision_select_layer", -2, path);
    c.vision_select_feature =
        optional_key<std::string>(j, "mm_vision_select_feature", "patch", path);
    c.image_aspect_ratio = optional_key<std::string>(j, "image_aspect_ratio", "square", path);
    c.vision_tower = required<std::string>(j, "mm_vision_tower", path);
    if (j.contains("tokenizer_model_max_length") && !j["tokenizer_model_max_length"].is_null())
      c.tokenizer_model_max_length = j["tokenizer_model_max_length"].get<int>();
    if (optional_key<bool>(j, "mm_use_im_start_end", false, path))
      fail("{}: mm_use_im_start_end=true (LLaVA-1.0 style) is not supported", path);
    const auto merge = optional_key<std::string>(j, "mm_patch_merge_type", "flat", path);
    if (merge != "flat") fail("{}: mm_patch_merge_type '{}' is not supported", path, merge);
  }
  if (c.vision_select_feature != "patch" && c.vision_select_feature != "cls_patch")
    fail("{}: unknown vision select feature '{}'", path, c.vision_select_feature);
  return c;
}

nlohmann::json llava_config_to_json(const LlavaConfig& c) {
  json j = c.layout == CheckpointLayout::LlavaOriginal ? c.raw : json::object();
  j["architectures"] = {"LlavaLlamaForCausalLM"};
  j["model_type"] = "llava";
  j["vocab_size"] = c.text.vocab_size;
  j["hidden_size"] = c.text.hidden_size;
  j["intermediate_size"] = c.text.intermediate_size;
  j["num_hidden_layers"] = c.text.num_layers;
  j["num_attention_heads"] = c.text.num_heads;
  j["num_key_value_heads"] = c.text.num_kv_heads;
  j["rms_norm_eps"] = c.text.rms_norm_eps;
  j["rope_theta"] = c.text.rope_theta;
  j["max_position_embeddings"] = c.text.max_position_embeddings;
  j["tie_word_embeddings"] = c.text.tie_word_embeddings;
  j["bos_token_id"] = c.text.bos_token_id;
  j["eos_token_id"] = c.text.eos_token_id;
  j["pad_token_id"] = c.text.pad_token_id;
  j["hidden_act"] = "silu";
  j["mm_hidden_size"] = c.mm_hidden_size;
  j["mm_projector_type"] = c.projector_type;
  j["mm_vision_select_layer"] = c.vision_select_layer;
  j["mm_vision_select_feature"] = c.vision_select_feature;
  j["mm_vision_tower"] = c.vision_tower;
  j["image_aspect_ratio"] = c.image_aspect_ratio;
  j["mm_use_im_start_end"] = false;
  j["mm_use_im_patch_token"] = false;
  j["mm_patch_merge_type"] = "flat";
  j["use_mm_proj"] = true;
  if (c.tokenizer_model_max_length) j["tokenizer_model_max_length"] = *c.tokenizer_model_max_length;
  // AdaLLaVA's keys travel in raw (adaptive::attach_scheduler puts them there): the official
  // class and model type go with them, so the official code loads our checkpoints.
  if (c.raw.is_object() && c.raw.contains("scheduler_type")) {
    for (const char* key : {"architectures", "model_type", "num_prefix_layers", "scheduler_type",
                            "scheduler_rank", "token_selecting"})
      if (c.raw.contains(key)) j[key] = c.raw[key];
  }
  return j;
}

}  // namespace adallava::model
