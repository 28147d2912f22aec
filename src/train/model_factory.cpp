#include "train/model_factory.h"

#include <filesystem>

#include <spdlog/spdlog.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "adaptive/adallava.h"
#include "common/error.h"
#include "common/files.h"
#include "data/text/tokenizer.h"
#include "io/weights.h"
#include "model/loader.h"
#include "train/llava_checkpoint.h"
#include "train/optimizer.h"

namespace adallava::train {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const std::string kTowerPrefix = "model.vision_tower.vision_tower.";

bool is_bare_llm(const std::string& dir) {
  const std::string path = join_path(dir, "config.json");
  if (!file_exists(path)) return false;  // load_llava reports it
  json j = read_json_file(path);
  return j.is_object() && !j.contains("mm_hidden_size") && !j.contains("text_config") &&
         !j.contains("mm_vision_tower");
}

// A from-scratch model's tower: model.vision_tower's (e.g. one pretrained by model.objective =
// scene_patches) replaces the one model.arch describes.
model::VisionConfig scratch_vision_config(const config::TrainConfig& cfg) {
  return cfg.model.vision_tower ? model::load_vision_config(*cfg.model.vision_tower)
                                : vision_config_from_arch(cfg.model.arch);
}

std::string existing_or_empty(const std::string& path) {
  return file_exists(path) ? path : "";
}

// LLaVA stage 1 from a bare LLM: its config.json gets the mm_* keys of the recipe, the tower
// comes from model.vision_tower, the projector is new (torch's default Linear init, as LLaVA).
BuiltModel build_from_bare_llm(const config::TrainConfig& cfg) {
  const std::string& init = *cfg.model.init;
  if (!cfg.model.vision_tower)
    fail(
        "model.init {} is a bare LLM (no mm_* keys in config.json): set model.vision_tower to a "
        "CLIP vision tower directory",
        init);
  const std::string tower_dir = *cfg.model.vision_tower;
  model::VisionConfig vision = model::load_vision_config(tower_dir);
  json j = read_json_file(join_path(init, "config.json"));
  j["mm_hidden_size"] = vision.hidden_size;
  j["mm_projector_type"] = cfg.model.projector_type;
  j["mm_vision_select_layer"] = cfg.model.vision_select_layer;
  j["mm_vision_select_feature"] = cfg.model.vision_select_feature;
  j["mm_vision_tower"] = tower_dir;
  j["image_aspect_ratio"] = cfg.model.image_aspect_ratio;
  j["tokenizer_model_max_length"] = cfg.data.max_length;
  // Parse through the checkpoint reader so every LLaMA key gets the same checks.
  const fs::path scratch =
      fs::temp_directory_path() / fmt::format("adallava-init-{}", static_cast<long>(::getpid()));
  fs::create_directories(scratch);
  write_text_file_atomic((scratch / "config.json").string(), j.dump());
  model::LlavaConfig llava;
  try {
    llava = model::load_llava_config(scratch.string());
  } catch (...) {
    fs::remove_all(scratch);
    throw;
  }
  fs::remove_all(scratch);
  llava.config_path = join_path(init, "config.json");

  BuiltModel out;
  out.model = model::LlavaForCausalLM(llava, vision);
  io::StateDict weights = io::load_weights_dir(init);
  for (const auto& [name, t] : io::load_weights_dir(tower_dir))
    if (name.rfind("vision_model.", 0) == 0) weights[kTowerPrefix + name] = t;
  for (auto& [name, t] : module_state(*out.model->model->mm_projector))
    weights["model.mm_projector." + name] = t.clone();
  io::StateDict filtered;
  for (auto& [name, t] : weights)
    if (name.find("rotary_emb.inv_freq") == std::string::npos &&
        name.find("embeddings.position_ids") == std::string::npos)
      filtered[name] = t;
  model::load_state_dict_strict(*out.model, filtered, init);
  out.assets.tokenizer_model = cfg.model.tokenizer.value_or(join_path(init, "tokenizer.model"));
  out.assets.tokenizer_config_dir = parent_dir(out.assets.tokenizer_model);
  out.assets.preprocessor_config =
      existing_or_empty(join_path(tower_dir, "preprocessor_config.json"));
  if (!cfg.trainable.vision_tower) out.assets.external_vision_tower = tower_dir;
  out.origin = fmt::format("LLM {} + vision tower {} + new {} projector", init, tower_dir,
                           cfg.model.projector_type);
  return out;
}

BuiltModel build_from_checkpoint(const config::TrainConfig& cfg) {
  const std::string& init = *cfg.model.init;
  model::LoadOptions options;
  if (cfg.model.vision_tower) options.vision_tower_dir = *cfg.model.vision_tower;
  // AdaLLaVA checkpoints keep their scheduler (continuing a joint fine-tuning run).
  model::LoadedLlava loaded = adaptive::load_adallava(init, options);
  BuiltModel out;
  out.model = loaded.model;
  // LLaVA's training truncates after splicing at the run's model_max_length, not at the value
  // the checkpoint was trained with (a stage-1 run may have used a shorter one).
  out.model->config.tokenizer_model_max_length = static_cast<int>(cfg.data.max_length);
  out.model->train();
  out.assets.tokenizer_model = cfg.model.tokenizer.value_or(loaded.tokenizer_path);
  out.assets.tokenizer_config_dir = parent_dir(out.assets.tokenizer_model);
  std::string pp = existing_or_empty(join_path(init, "preprocessor_config.json"));
  if (pp.empty() && !loaded.vision_tower_dir.empty())
    pp = existing_or_empty(join_path(loaded.vision_tower_dir, "preprocessor_config.json"));
  out.assets.preprocessor_config = pp;
  // A frozen tower loaded from a separate directory is referenced, not copied, unless it is the
  // tower sub-folder of another run's checkpoint (that run may be deleted).
  const bool own_subfolder = !loaded.vision_tower_dir.empty() &&
                             fs::equivalent(fs::path(loaded.vision_tower_dir).parent_path().empty()
                                                ? fs::path(".")
                                                : fs::path(loaded.vision_tower_dir).parent_path(),
                                            fs::path(init)) &&
                             fs::path(loaded.vision_tower_dir).filename() == kOwnVisionTowerDir;
  if (!cfg.trainable.vision_tower && !loaded.vision_tower_dir.empty() && !own_subfolder)
    out.assets.external_vision_tower = loaded.vision_tower_dir;
  out.origin = fmt::format("checkpoint {}", init);
  return out;
}

BuiltModel build_from_arch(const config::TrainConfig& cfg) {
  if (!cfg.model.tokenizer) fail("model.tokenizer: required when training from scratch");
  const std::string tokenizer_path = *cfg.model.tokenizer;
  const int64_t vocab = cfg.model.arch.vocab_size
                            ? *cfg.model.arch.vocab_size
                            : text::Tokenizer::load(tokenizer_path).vocab_size();
  // The LLM and projector are new either way; a given tower's weights are loaded below.
  const std::optional<std::string>& tower_dir = cfg.model.vision_tower;
  const model::VisionConfig vision = scratch_vision_config(cfg);
  model::LlavaConfig llava = llava_config_from_arch(cfg, vocab, vision);
  BuiltModel out;
  out.model = model::LlavaForCausalLM(llava, vision);
  torch::manual_seed(static_cast<uint64_t>(cfg.schedule.seed));
  init_weights(*out.model, cfg.model.arch.init_std);
  out.assets.tokenizer_model = tokenizer_path;
  out.assets.tokenizer_config_dir = parent_dir(tokenizer_path);
  out.origin = fmt::format("new model from model.arch (init std {}, seed {})",
                           cfg.model.arch.init_std, cfg.schedule.seed);
  if (tower_dir) {
    io::StateDict tower;
    for (const auto& [name, t] : io::load_weights_dir(*tower_dir))
      if (name.rfind("vision_model.", 0) == 0 && name.find("position_ids") == std::string::npos)
        tower[name] = t;
    model::load_state_dict_strict(*out.model->model->vision_tower->vision_tower, tower,
                                  "model.vision_tower " + *tower_dir);
    out.assets.preprocessor_config =
        existing_or_empty(join_path(*tower_dir, "preprocessor_config.json"));
    if (!cfg.trainable.vision_tower) out.assets.external_vision_tower = *tower_dir;
    out.origin += fmt::format(", vision tower from {}", *tower_dir);
  }
  return out;
}

int to_int(const std::optional<int64_t>& v, const char* key) {
  if (!v) fail("model.arch.{}: required when training from scratch (model.init is null)", key);
  return static_cast<int>(*v);
}

}  // namespace

model::VisionConfig vision_config_from_arch(const config::ArchConfig& a) {
  model::VisionConfig v;
  v.image_size = to_int(a.vision_image_size, "vision_image_size");
  v.patch_size = to_int(a.vision_patch_size, "vision_patch_size");
  v.hidden_size = to_int(a.vision_hidden_size, "vision_hidden_size");
  v.num_layers = to_int(a.vision_layers, "vision_layers");
  v.num_heads = to_int(a.vision_heads, "vision_heads");
  v.intermediate_size = to_int(a.vision_mlp_dim, "vision_mlp_dim");
  v.layer_norm_eps = a.vision_layer_norm_eps;
  v.hidden_act = "quick_gelu";
  return v;
}

std::optional<model::VisionConfig> recipe_vision_config(const config::TrainConfig& cfg) {
  if (cfg.model.init) {
    const std::string& init = *cfg.model.init;
    if (!file_exists(join_path(init, "config.json"))) return std::nullopt;
    if (!is_bare_llm(init)) {
      const model::LlavaConfig llava = model::load_llava_config(init);
      if (llava.vision) return llava.vision;
      model::LoadOptions options;
      options.vision_tower_dir = cfg.model.vision_tower.value_or("");
      const std::string tower = model::resolve_tower_dir(llava, init, options);
      if (tower.empty()) return std::nullopt;
      return model::load_vision_config(tower);
    }
    if (!cfg.model.vision_tower) return std::nullopt;  // build_model names the missing key
  } else if (!cfg.model.vision_tower &&
             (!cfg.model.arch.vision_image_size || !cfg.model.arch.vision_patch_size)) {
    return std::nullopt;
  }
  return scratch_vision_config(cfg);
}

model::LlavaConfig llava_config_from_arch(const config::TrainConfig& cfg, int64_t vocab_size,
                                          const model::VisionConfig& vision) {
  const auto& a = cfg.model.arch;
  model::LlavaConfig c;
  c.layout = model::CheckpointLayout::LlavaOriginal;
  c.text.vocab_size = static_cast<int>(vocab_size);
  c.text.hidden_size = to_int(a.llm_hidden_size, "llm_hidden_size");
  c.text.intermediate_size = to_int(a.llm_mlp_dim, "llm_mlp_dim");
  c.text.num_layers = to_int(a.llm_layers, "llm_layers");
  c.text.num_heads = to_int(a.llm_heads, "llm_heads");
  c.text.num_kv_heads = to_int(a.llm_kv_heads, "llm_kv_heads");
  c.text.rms_norm_eps = a.rms_norm_eps;
  c.text.rope_theta = a.rope_theta;
  c.text.max_position_embeddings = to_int(a.max_position_embeddings, "max_position_embeddings");
  c.vision = vision;
  c.projector_type = cfg.model.projector_type;
  c.mm_hidden_size = c.vision->hidden_size;
  c.vision_select_layer = static_cast<int>(cfg.model.vision_select_layer);
  c.vision_select_feature = cfg.model.vision_select_feature;
  c.image_aspect_ratio = cfg.model.image_aspect_ratio;
  c.vision_tower = kOwnVisionTowerDir;
  c.tokenizer_model_max_length = static_cast<int>(cfg.data.max_length);
  c.config_path = "model.arch";
  c.raw = json::object();
  c.raw["initializer_range"] = a.init_std;
  return c;
}

void init_weights(model::LlavaForCausalLMImpl& model, double std) {
  init_from_scratch(model, std);
  torch::NoGradGuard no_grad;
  const int64_t pad = model.config.text.pad_token_id;
  auto& emb = model.model->embed_tokens->weight;
  if (pad >= 0 && pad < emb.size(0)) emb[pad].zero_();
}

void init_from_scratch(torch::nn::Module& model, double std) {
  torch::NoGradGuard no_grad;
  const auto norms = norm_parameter_names(model);
  for (auto& p : model.named_parameters(/*recurse=*/true)) {
    const std::string& name = p.key();
    auto& t = p.value();
    const bool is_bias = name.size() >= 4 && name.compare(name.size() - 4, 4, "bias") == 0;
    if (norms.count(name)) {
      is_bias ? t.zero_() : t.fill_(1.0);
    } else if (is_bias) {
      t.zero_();
    } else {
      t.normal_(0.0, std);
    }
  }
}

void load_projector(model::LlavaForCausalLMImpl& model, const std::string& path) {
  io::StateDict source;
  if (dir_exists(path)) {
    bool found = false;
    for (const char* name : {"mm_projector.safetensors", "mm_projector.bin"}) {
      const std::string file = join_path(path, name);
      if (file_exists(file)) {
        source = std::string(name).find(".bin") != std::string::npos ? io::load_torch_bin(file)
                                                                     : io::load_safetensors(file);
        found = true;
        break;
      }
    }
    if (!found) source = io::load_weights_dir(path);
  } else if (file_exists(path)) {
    const bool safetensors = path.size() > 12 && path.substr(path.size() - 12) == ".safetensors";
    source = safetensors ? io::load_safetensors(path) : io::load_torch_bin(path);
  } else {
    fail("model.projector_init {}: no such file or directory", path);
  }
  io::StateDict projector;
  const std::string infix = "mm_projector.";
  for (const auto& [name, t] : source) {
    auto pos = name.find(infix);
    if (pos != std::string::npos) projector[name.substr(pos + infix.size())] = t;
  }
  if (projector.empty()) fail("model.projector_init {}: no mm_projector.* tensors found", path);
  model::load_state_dict_strict(*model.model->mm_projector, projector,
                                "model.projector_init " + path);
}

BuiltModel build_model(const config::TrainConfig& cfg) {
  BuiltModel out;
  if (!cfg.model.init) {
    out = build_from_arch(cfg);
  } else if (is_bare_llm(*cfg.model.init)) {
    out = build_from_bare_llm(cfg);
  } else {
    out = build_from_checkpoint(cfg);
  }
  if (cfg.model.projector_init) {
    load_projector(*out.model, *cfg.model.projector_init);
    out.origin += fmt::format(", projector from {}", *cfg.model.projector_init);
  }
  out.model->to(torch::kFloat32);
  out.model->train();
  return out;
}

}  // namespace adallava::train
