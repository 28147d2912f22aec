#include "model/loader.h"

#include <filesystem>

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "common/error.h"
#include "common/files.h"

namespace adallava::model {

namespace {

const std::string kTowerPrefix = "model.vision_tower.vision_tower.";

bool starts_with(const std::string& s, const std::string& p) {
  return s.rfind(p, 0) == 0;
}
bool ends_with(const std::string& s, const std::string& p) {
  return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}

// Tensors that checkpoints carry but the model recomputes or never uses.
bool is_known_unused(const std::string& name) {
  return ends_with(name, "rotary_emb.inv_freq") || ends_with(name, "embeddings.position_ids");
}

std::string tower_missing_message(const LlavaConfig& cfg, const std::string& dir) {
  return fmt::format(
      "{}: mm_vision_tower '{}' is not a local directory and the checkpoint has no embedded "
      "vision tower; download that tower once (e.g. a copy of openai/clip-vit-large-patch14-336 "
      "with config.json, preprocessor_config.json and model.safetensors or pytorch_model.bin) "
      "and pass --vision-tower DIR",
      cfg.config_path, cfg.vision_tower);
}

}  // namespace

std::string resolve_tower_dir(const LlavaConfig& cfg, const std::string& dir,
                              const LoadOptions& options) {
  if (!options.vision_tower_dir.empty()) {
    if (!dir_exists(options.vision_tower_dir))
      fail("--vision-tower {}: not a directory", options.vision_tower_dir);
    return options.vision_tower_dir;
  }
  const std::string& name = cfg.vision_tower;
  if (name.empty()) return "";
  namespace fs = std::filesystem;
  for (const fs::path& candidate :
       {fs::path(name), fs::path(dir) / name, fs::path(dir).parent_path() / name}) {
    if (!name.empty() && dir_exists(candidate.string())) return candidate.string();
  }
  return "";
}

c10::ScalarType parse_compute_dtype(const std::string& name, const std::string& option) {
  if (name == "fp32" || name == "float32") return torch::kFloat32;
  if (name == "bf16" || name == "bfloat16") return torch::kBFloat16;
  fail("{} {}: expected fp32 or bf16", option, name);
}

const char* compute_dtype_name(c10::ScalarType dtype) {
  return dtype == torch::kBFloat16 ? "bf16" : "fp32";
}

io::StateDict to_original_layout(const io::StateDict& weights, CheckpointLayout layout) {
  io::StateDict out;
  for (const auto& [name, tensor] : weights) {
    if (is_known_unused(name)) continue;
    std::string mapped = name;
    if (layout == CheckpointLayout::LlavaHf) {
      // The inverse of transformers' convert_llava_weights_to_hf mapping.
      if (starts_with(name, "language_model.model.")) {
        mapped = "model." + name.substr(std::string("language_model.model.").size());
      } else if (starts_with(name, "language_model.lm_head.")) {
        mapped = name.substr(std::string("language_model.").size());
      } else if (starts_with(name, "multi_modal_projector.linear_1.")) {
        mapped = "model.mm_projector.0." +
                 name.substr(std::string("multi_modal_projector.linear_1.").size());
      } else if (starts_with(name, "multi_modal_projector.linear_2.")) {
        mapped = "model.mm_projector.2." +
                 name.substr(std::string("multi_modal_projector.linear_2.").size());
      } else if (starts_with(name, "vision_tower.")) {
        mapped = kTowerPrefix + name.substr(std::string("vision_tower.").size());
      }
    }
    out.emplace(mapped, tensor);
  }
  return out;
}

void load_state_dict_strict(torch::nn::Module& module, const io::StateDict& weights,
                            const std::string& source) {
  auto params = module.named_parameters(/*recurse=*/true);
  auto buffers = module.named_buffers(/*recurse=*/true);
  std::vector<std::string> missing, unexpected, mismatched;
  std::map<std::string, torch::Tensor> targets;
  for (const auto& p : params) targets[p.key()] = p.value();
  for (const auto& b : buffers) targets[b.key()] = b.value();
  for (const auto& [name, target] : targets) {
    auto it = weights.find(name);
    if (it == weights.end()) {
      missing.push_back(name);
    } else if (it->second.sizes() != target.sizes()) {
      mismatched.push_back(fmt::format("{} (checkpoint {}, model {})", name,
                                       fmt::join(it->second.sizes(), "x"),
                                       fmt::join(target.sizes(), "x")));
    }
  }
  for (const auto& [name, tensor] : weights)
    if (!targets.count(name)) unexpected.push_back(name);
  if (!missing.empty() || !unexpected.empty() || !mismatched.empty()) {
    auto list = [](const std::vector<std::string>& v) {
      const size_t shown = std::min<size_t>(v.size(), 20);
      std::string s = fmt::format("{}", fmt::join(v.begin(), v.begin() + shown, ", "));
      if (v.size() > shown) s += fmt::format(", ... ({} more)", v.size() - shown);
      return s;
    };
    std::string msg = fmt::format("{}: checkpoint does not match the model:", source);
    if (!missing.empty())
      msg += fmt::format(" missing {} tensor(s): {};", missing.size(), list(missing));
    if (!unexpected.empty())
      msg += fmt::format(" unexpected {} tensor(s): {};", unexpected.size(), list(unexpected));
    if (!mismatched.empty())
      msg += fmt::format(" {} shape mismatch(es): {};", mismatched.size(), list(mismatched));
    msg.pop_back();
    throw Error(msg);
  }
  torch::NoGradGuard no_grad;
  for (auto& [name, target] : targets) target.copy_(weights.at(name));
}

LoadedLlava load_llava(const std::string& dir, const LoadOptions& options) {
  if (!dir_exists(dir)) fail("{}: checkpoint directory not found", dir);
  LlavaConfig cfg = load_llava_config(dir);
  io::StateDict weights = to_original_layout(io::load_weights_dir(dir), cfg.layout);

  bool tower_embedded = false;
  for (const auto& [name, t] : weights)
    if (starts_with(name, kTowerPrefix)) {
      tower_embedded = true;
      break;
    }

  LoadedLlava out;
  out.checkpoint_dir = dir;
  std::string tower_dir = resolve_tower_dir(cfg, dir, options);
  VisionConfig vision;
  if (cfg.vision) {
    vision = *cfg.vision;
  } else if (!tower_dir.empty()) {
    vision = load_vision_config(tower_dir);
  } else {
    throw Error(tower_missing_message(cfg, dir));
  }
  if (!tower_embedded) {
    if (tower_dir.empty()) throw Error(tower_missing_message(cfg, dir));
    io::StateDict tower = io::load_weights_dir(tower_dir);
    size_t used = 0;
    for (const auto& [name, tensor] : tower) {
      // A full CLIPModel also carries the text tower and projections: not part of LLaVA.
      if (!starts_with(name, "vision_model.") || is_known_unused(name)) continue;
      weights.emplace(kTowerPrefix + name, tensor);
      ++used;
    }
    if (used == 0)
      fail("{}: no vision_model.* tensors found in the vision tower checkpoint", tower_dir);
    out.vision_tower_dir = tower_dir;
  }

  out.model = LlavaForCausalLM(cfg, vision);
  if (options.extend) {
    options.extend(*out.model);
  } else if (cfg.raw.contains("scheduler_type")) {
    fail(
        "{}: this is an AdaLLaVA checkpoint (scheduler_type {}); load it through the adaptive "
        "module (adaptive::load_adallava)",
        cfg.config_path, cfg.raw["scheduler_type"].dump());
  }
  out.model->to(options.dtype);
  load_state_dict_strict(*out.model, weights, dir);
  out.model->eval();

  // Preprocessing follows the tower's processor config; the checkpoint's own wins when present.
  std::string pp = join_path(dir, "preprocessor_config.json");
  if (!file_exists(pp) && !tower_dir.empty()) pp = join_path(tower_dir, "preprocessor_config.json");
  if (file_exists(pp)) {
    out.preprocess = image::PreprocessConfig::from_json_file(pp);
  } else {
    spdlog::warn(
        "[model] no preprocessor_config.json in {} or the tower directory; using CLIP defaults at "
        "{} px",
        dir, vision.image_size);
    out.preprocess.shortest_edge = vision.image_size;
    out.preprocess.crop_height = out.preprocess.crop_width = vision.image_size;
  }
  out.tokenizer_path = join_path(dir, "tokenizer.model");
  return out;
}

}  // namespace adallava::model
