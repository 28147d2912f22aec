#include "export/export_source.h"

#include <filesystem>
#include <set>

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "common/error.h"
#include "common/files.h"
#include "model/config.h"
#include "model/loader.h"

namespace adallava::exporter {
namespace {

const std::string kSchedulerPrefix = "scheduler.";
const std::string kTowerPrefix = "model.vision_tower.vision_tower.";

bool starts_with(const std::string& s, const std::string& p) {
  return s.rfind(p, 0) == 0;
}

bool is_adaptive_config(const nlohmann::json& raw) {
  return raw.contains("scheduler_type") && !raw["scheduler_type"].is_null();
}

int config_int(const nlohmann::json& raw, const char* key, const std::string& path) {
  if (!raw.contains(key) || !raw[key].is_number_integer())
    fail("{}: AdaLLaVA config needs an integer '{}'", path, key);
  return raw[key].get<int>();
}

// Same search order as model::load_llava: --vision-tower, mm_vision_tower as given, relative to
// the checkpoint, then beside it (the official layout names a sibling folder).
std::string resolve_tower_dir(const model::LlavaConfig& cfg, const std::string& dir,
                              const SourceOptions& options) {
  if (!options.vision_tower_dir.empty()) {
    if (!dir_exists(options.vision_tower_dir))
      fail("--vision-tower {}: not a directory", options.vision_tower_dir);
    return options.vision_tower_dir;
  }
  namespace fs = std::filesystem;
  const std::string& name = cfg.vision_tower;
  if (name.empty()) return "";
  for (const fs::path& candidate :
       {fs::path(name), fs::path(dir) / name, fs::path(dir).parent_path() / name})
    if (dir_exists(candidate.string())) return candidate.string();
  return "";
}

SchedulerSource split_scheduler(io::StateDict& weights, const model::LlavaConfig& cfg,
                                c10::ScalarType dtype) {
  const auto& raw = cfg.raw;
  const std::string& path = cfg.config_path;
  SchedulerSource s;
  s.variant = raw["scheduler_type"].is_string() ? raw["scheduler_type"].get<std::string>() : "";
  if (s.variant != "L" && s.variant != "H")
    fail("{}: scheduler_type must be \"L\" or \"H\", got {}", path, raw["scheduler_type"].dump());
  s.num_prefix_layers = config_int(raw, "num_prefix_layers", path);
  s.scheduler_rank = s.variant == "H" ? config_int(raw, "scheduler_rank", path) : 0;
  const auto& t = cfg.text;
  if (s.num_prefix_layers < 0 || s.num_prefix_layers >= t.num_layers)
    fail("{}: num_prefix_layers {} must be in [0, {})", path, s.num_prefix_layers, t.num_layers);
  if (s.variant == "H" && (s.scheduler_rank <= 0 || t.num_heads % s.scheduler_rank != 0))
    fail("{}: scheduler_rank {} must divide num_attention_heads {}", path, s.scheduler_rank,
         t.num_heads);
  if (raw.contains("token_selecting") && raw["token_selecting"].is_string() &&
      raw["token_selecting"].get<std::string>() != "none")
    fail("{}: token_selecting '{}' is not supported by the exporter (only \"none\")", path,
         raw["token_selecting"].get<std::string>());

  for (auto it = weights.begin(); it != weights.end();) {
    if (starts_with(it->first, kSchedulerPrefix)) {
      s.weights.emplace(it->first.substr(kSchedulerPrefix.size()), it->second.to(dtype));
      it = weights.erase(it);
    } else {
      ++it;
    }
  }
  const int64_t d = t.hidden_size;
  const int64_t switchable = t.num_layers - s.num_prefix_layers;
  const int64_t head_out = s.variant == "L" ? switchable : switchable * 2 * t.num_heads;
  const std::map<std::string, std::vector<int64_t>> expected = {
      {"scheduler_up_proj.net.0.weight", {256}},    {"scheduler_up_proj.net.0.bias", {256}},
      {"scheduler_up_proj.net.1.weight", {d, 256}}, {"scheduler_up_proj.net.1.bias", {d}},
      {"scheduler_up_proj.net.3.weight", {d, d}},   {"scheduler_up_proj.net.3.bias", {d}},
      {"mlp_head.weight", {head_out, d}},           {"mlp_head.bias", {head_out}}};
  for (const auto& [name, shape] : expected) {
    auto it = s.weights.find(name);
    if (it == s.weights.end())
      fail("{}: AdaLLaVA checkpoint lacks tensor scheduler.{}", cfg.config_path, name);
    if (it->second.sizes().vec() != shape)
      fail("{}: scheduler.{} has shape {}, expected {}", cfg.config_path, name,
           c10::str(it->second.sizes()), c10::str(c10::IntArrayRef(shape)));
  }
  for (const auto& [name, tensor] : s.weights)
    if (!expected.count(name))
      fail("{}: unexpected scheduler tensor scheduler.{}", cfg.config_path, name);
  return s;
}

// load_llava without its strictness about scheduler.* tensors (which it rightly rejects).
model::LlavaForCausalLM load_llava_weights(const model::LlavaConfig& cfg, io::StateDict weights,
                                           const std::string& dir, const SourceOptions& options,
                                           std::string* tower_dir_out) {
  bool tower_embedded = false;
  for (const auto& [name, t] : weights)
    if (starts_with(name, kTowerPrefix)) tower_embedded = true;
  const std::string tower_dir = resolve_tower_dir(cfg, dir, options);
  *tower_dir_out = tower_dir;
  model::VisionConfig vision;
  if (cfg.vision) {
    vision = *cfg.vision;
  } else if (!tower_dir.empty()) {
    vision = model::load_vision_config(tower_dir);
  } else {
    fail("{}: mm_vision_tower '{}' is not a local directory; pass --vision-tower DIR",
         cfg.config_path, cfg.vision_tower);
  }
  if (!tower_embedded) {
    if (tower_dir.empty())
      fail("{}: mm_vision_tower '{}' is not a local directory; pass --vision-tower DIR",
           cfg.config_path, cfg.vision_tower);
    size_t used = 0;
    for (const auto& [name, tensor] : io::load_weights_dir(tower_dir)) {
      if (!starts_with(name, "vision_model.") || name.find("position_ids") != std::string::npos)
        continue;
      weights.emplace(kTowerPrefix + name, tensor);
      ++used;
    }
    if (used == 0) fail("{}: no vision_model.* tensors in the vision tower checkpoint", tower_dir);
  }
  model::LlavaForCausalLM llava(cfg, vision);
  llava->to(options.dtype);
  model::load_state_dict_strict(*llava, weights, dir);
  llava->eval();
  return llava;
}

}  // namespace

ExportSource read_export_source(const std::string& dir, const SourceOptions& options) {
  if (!dir_exists(dir)) fail("{}: checkpoint directory not found", dir);
  ExportSource out;
  out.checkpoint_dir = dir;
  model::LlavaConfig cfg = model::load_llava_config(dir);
  out.source_config = cfg.raw;
  out.tokenizer_path = join_path(dir, "tokenizer.model");
  if (!file_exists(out.tokenizer_path))
    fail("{}: no tokenizer.model; the exported model must carry its tokenizer", dir);

  if (!is_adaptive_config(cfg.raw)) {
    model::LoadOptions load;
    load.vision_tower_dir = options.vision_tower_dir;
    load.dtype = options.dtype;
    auto loaded = model::load_llava(dir, load);  // rejects stray scheduler.* tensors
    out.model = loaded.model;
    out.preprocess = loaded.preprocess;
    return out;
  }

  io::StateDict weights = model::to_original_layout(io::load_weights_dir(dir), cfg.layout);
  out.scheduler = split_scheduler(weights, cfg, options.dtype);
  std::string tower_dir;
  out.model = load_llava_weights(cfg, std::move(weights), dir, options, &tower_dir);

  std::string pp = join_path(dir, "preprocessor_config.json");
  if (!file_exists(pp) && !tower_dir.empty()) pp = join_path(tower_dir, "preprocessor_config.json");
  if (file_exists(pp)) {
    out.preprocess = image::PreprocessConfig::from_json_file(pp);
  } else {
    const int size = out.model->vision_config.image_size;
    spdlog::warn("[export] no preprocessor_config.json for {}; using CLIP defaults at {} px", dir,
                 size);
    out.preprocess.shortest_edge = size;
    out.preprocess.crop_height = out.preprocess.crop_width = size;
  }
  return out;
}

}  // namespace adallava::exporter
