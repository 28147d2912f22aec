#include "export/exporter.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <limits>

#include <spdlog/spdlog.h>
#include <torch/csrc/jit/frontend/resolver.h>
#include <torch/csrc/jit/frontend/sugared_value.h>
#include <torch/script.h>
#include <torch/torch.h>

#include "common/error.h"
#include "common/files.h"
#include "export/script_source.h"
#include "runtime/format.h"

namespace adallava::exporter {
namespace {

// The C++ frontend's default resolver knows only `torch`; the sources also raise ValueError (as
// the official latency_quantizing does), which Python users then see as that exception type.
struct ScriptResolver : torch::jit::Resolver {
  std::shared_ptr<torch::jit::SugaredValue> resolveValue(const std::string& name,
                                                         torch::jit::GraphFunction&,
                                                         const torch::jit::SourceRange&) override {
    if (name == "torch") return std::make_shared<torch::jit::BuiltinModule>("aten");
    if (name == "ValueError") return std::make_shared<torch::jit::ExceptionValue>("ValueError");
    return nullptr;
  }
  c10::TypePtr resolveType(const std::string&, const torch::jit::SourceRange&) override {
    return nullptr;
  }
};

void define(torch::jit::Module& m, const std::string& source) {
  static const auto resolver = std::make_shared<ScriptResolver>();
  m.define(source, resolver);
}

using Params = std::map<std::string, torch::Tensor>;
const std::string kTypePrefix = "__torch__.adallava_export.";

Params parameters_of(const model::LlavaForCausalLM& llava) {
  Params out;
  for (const auto& item : llava->named_parameters(/*recurse=*/true))
    out.emplace(item.key(), item.value().detach());
  return out;
}

torch::Tensor take(const Params& params, const std::string& name) {
  auto it = params.find(name);
  if (it == params.end()) fail("export: the loaded model has no tensor '{}'", name);
  return it->second;
}

// Inference-only tensors: no autograd recording in the artifact's methods.
void add_param(torch::jit::Module& m, const std::string& name, const torch::Tensor& t) {
  m.register_parameter(name, t.detach().contiguous(), /*is_buffer=*/false);
}

ScriptDims dims_for(const ExportSource& src) {
  const auto& cfg = src.model->config;
  const auto& vc = src.model->vision_config;
  const auto& t = cfg.text;
  ScriptDims d;
  d.vision_hidden = vc.hidden_size;
  d.vision_heads = vc.num_heads;
  const int total_states = vc.num_layers + 1;
  const int index = cfg.vision_select_layer < 0 ? total_states + cfg.vision_select_layer
                                                : cfg.vision_select_layer;
  if (index < 0 || index >= total_states)
    fail("{}: mm_vision_select_layer {} is out of range for a tower with {} layers",
         cfg.config_path, cfg.vision_select_layer, vc.num_layers);
  d.vision_layers_run = index;
  d.image_size = vc.image_size;
  d.patch_size = vc.patch_size;
  d.channels = vc.num_channels;
  d.vision_eps = vc.layer_norm_eps;
  d.quick_gelu = vc.hidden_act == "quick_gelu";
  if (!d.quick_gelu && vc.hidden_act != "gelu")
    fail("export: vision hidden_act '{}' is not supported (quick_gelu or gelu)", vc.hidden_act);
  if (cfg.vision_select_feature != "patch" && cfg.vision_select_feature != "cls_patch")
    fail("{}: mm_vision_select_feature '{}' is not supported", cfg.config_path,
         cfg.vision_select_feature);
  d.keep_cls = cfg.vision_select_feature == "cls_patch";
  d.projector_depth = src.model->model->mm_projector->type == "linear"
                          ? 0
                          : static_cast<int64_t>(src.model->model->mm_projector->linears.size());
  d.layers = t.num_layers;
  d.hidden = t.hidden_size;
  d.heads = t.num_heads;
  d.kv_heads = t.num_kv_heads;
  d.head_dim = t.head_dim();
  d.ffn = t.intermediate_size;
  d.vocab = t.vocab_size;
  d.rms_eps = t.rms_norm_eps;
  const auto dtype = src.model->model->embed_tokens->weight.scalar_type();
  // The eager model's additive mask values (model/llama.cpp).
  d.mask_min = dtype == torch::kBFloat16
                   ? -3.3895313892515355e38
                   : static_cast<double>(std::numeric_limits<float>::lowest());
  d.image_token_index = cfg.image_token_index;
  d.max_length = cfg.tokenizer_model_max_length.value_or(0);
  d.eos_token_id = t.eos_token_id;
  d.format_version = exported::kFormatVersion;
  if (src.scheduler) {
    d.has_scheduler = true;
    d.variant_h = src.scheduler->variant == "H";
    d.prefix_layers = src.scheduler->num_prefix_layers;
    d.rank = src.scheduler->scheduler_rank;
    const int64_t per_layer = d.variant_h ? d.heads / d.rank : 1;
    d.units_total = d.layers * per_layer;
    d.units_prefix = d.prefix_layers * per_layer;
  } else {
    d.prefix_layers = d.layers;
    d.units_total = d.layers;
    d.units_prefix = d.layers;
  }
  return d;
}

torch::jit::Module build_vision_tower(const ScriptDims& d, const Params& p,
                                      const std::shared_ptr<torch::jit::CompilationUnit>& cu) {
  const std::string root = "model.vision_tower.vision_tower.vision_model.";
  torch::jit::Module tower(kTypePrefix + "VisionTower", cu);
  c10::ClassTypePtr layer_type;
  for (int64_t i = 0; i < d.vision_layers_run; ++i) {
    // One class type for every layer: methods are compiled once.
    torch::jit::Module layer = layer_type
                                   ? torch::jit::Module(cu, layer_type)
                                   : torch::jit::Module(kTypePrefix + "ClipEncoderLayer", cu);
    const std::string pre = root + "encoder.layers." + std::to_string(i) + ".";
    for (const char* proj : {"q_proj", "k_proj", "v_proj", "out_proj"})
      for (const char* kind : {"weight", "bias"})
        add_param(layer, std::string(proj) + "_" + kind,
                  take(p, pre + "self_attn." + proj + "." + kind));
    for (const char* ln : {"layer_norm1", "layer_norm2"})
      for (const char* kind : {"weight", "bias"})
        add_param(layer, std::string(ln) + "_" + kind, take(p, pre + ln + "." + kind));
    for (const char* fc : {"fc1", "fc2"})
      for (const char* kind : {"weight", "bias"})
        add_param(layer, std::string(fc) + "_" + kind, take(p, pre + "mlp." + fc + "." + kind));
    if (!layer_type) {
      define(layer, clip_layer_source(d));
      layer_type = layer.type();
    }
    tower.register_module("layer_" + std::to_string(i), layer);
  }
  add_param(tower, "class_embedding", take(p, root + "embeddings.class_embedding"));
  add_param(tower, "patch_embedding", take(p, root + "embeddings.patch_embedding.weight"));
  add_param(tower, "position_embedding", take(p, root + "embeddings.position_embedding.weight"));
  add_param(tower, "pre_layrnorm_weight", take(p, root + "pre_layrnorm.weight"));
  add_param(tower, "pre_layrnorm_bias", take(p, root + "pre_layrnorm.bias"));
  define(tower, vision_tower_source(d));
  return tower;
}

torch::Tensor rope_inv_freq(int64_t head_dim, double theta) {
  // Exactly the eager model's expression (model/llama.cpp rotary_tables).
  auto opts = torch::TensorOptions().dtype(torch::kFloat32);
  auto exponents = torch::arange(0, head_dim, 2, torch::TensorOptions().dtype(torch::kInt64))
                       .to(torch::kFloat32) /
                   static_cast<float>(head_dim);
  return (1.0 / torch::pow(torch::tensor(theta, opts), exponents)).to(torch::kFloat32);
}

// d_ff neurons over H groups in contiguous blocks, the first d_ff % H one neuron larger.
torch::Tensor mlp_group_sizes(int64_t ffn, int64_t groups) {
  std::vector<int64_t> sizes(groups, ffn / groups);
  for (int64_t g = 0; g < ffn % groups; ++g) ++sizes[g];
  return torch::tensor(sizes, torch::kInt64);
}

}  // namespace

torch::jit::Module build_scripted_model(const ExportSource& src) {
  const ScriptDims d = dims_for(src);
  const Params p = parameters_of(src.model);
  auto cu = std::make_shared<torch::jit::CompilationUnit>();
  torch::jit::Module top(kTypePrefix + "AdaLlava", cu);

  top.register_module("vision_tower", build_vision_tower(d, p, cu));
  c10::ClassTypePtr layer_type;
  for (int64_t i = 0; i < d.layers; ++i) {
    torch::jit::Module layer = layer_type ? torch::jit::Module(cu, layer_type)
                                          : torch::jit::Module(kTypePrefix + "DecoderLayer", cu);
    const std::string pre = "model.layers." + std::to_string(i) + ".";
    for (const char* proj : {"q_proj", "k_proj", "v_proj", "o_proj"})
      add_param(layer, proj, take(p, pre + "self_attn." + proj + ".weight"));
    for (const char* proj : {"gate_proj", "up_proj", "down_proj"})
      add_param(layer, proj, take(p, pre + "mlp." + proj + ".weight"));
    for (const char* norm : {"input_layernorm", "post_attention_layernorm"})
      add_param(layer, norm, take(p, pre + norm + ".weight"));
    if (!layer_type) {
      define(layer, decoder_layer_source(d));
      layer_type = layer.type();
    }
    top.register_module("layer_" + std::to_string(i), layer);
  }

  add_param(top, "embed_tokens", take(p, "model.embed_tokens.weight"));
  add_param(top, "norm", take(p, "model.norm.weight"));
  add_param(top, "lm_head", take(p, "lm_head.weight"));
  if (d.projector_depth == 0) {
    add_param(top, "mm_projector_weight", take(p, "model.mm_projector.weight"));
    add_param(top, "mm_projector_bias", take(p, "model.mm_projector.bias"));
  } else {
    for (int64_t i = 0; i < d.projector_depth; ++i)
      for (const char* kind : {"weight", "bias"})
        add_param(top, "mm_projector_" + std::to_string(2 * i) + "_" + kind,
                  take(p, "model.mm_projector." + std::to_string(2 * i) + "." + kind));
  }
  top.register_buffer("rope_inv_freq",
                      rope_inv_freq(d.head_dim, src.model->config.text.rope_theta));
  top.register_buffer("mlp_group_sizes", mlp_group_sizes(d.ffn, d.heads));

  if (src.scheduler) {
    const auto& w = src.scheduler->weights;
    auto sw = [&](const std::string& name) { return w.at(name); };
    add_param(top, "latency_norm_weight", sw("scheduler_up_proj.net.0.weight"));
    add_param(top, "latency_norm_bias", sw("scheduler_up_proj.net.0.bias"));
    add_param(top, "latency_fc1_weight", sw("scheduler_up_proj.net.1.weight"));
    add_param(top, "latency_fc1_bias", sw("scheduler_up_proj.net.1.bias"));
    add_param(top, "latency_fc2_weight", sw("scheduler_up_proj.net.3.weight"));
    add_param(top, "latency_fc2_bias", sw("scheduler_up_proj.net.3.bias"));
    add_param(top, "scheduler_head_weight", sw("mlp_head.weight"));
    add_param(top, "scheduler_head_bias", sw("mlp_head.bias"));
  }
  define(top, model_source(d));
  top.eval();
  return top;
}

nlohmann::json exported_config(const ExportSource& src, const torch::jit::Module& module,
                               const std::map<std::string, std::string>& extra_digests) {
  const ScriptDims d = dims_for(src);
  const auto& cfg = src.model->config;
  const auto dtype = src.model->model->embed_tokens->weight.scalar_type();
  nlohmann::json j;
  j["format_version"] = exported::kFormatVersion;
  j["model_type"] = src.scheduler ? "adallava" : "llava";
  j["scheduler_type"] = src.scheduler ? src.scheduler->variant : "none";
  j["num_hidden_layers"] = d.layers;
  j["num_attention_heads"] = d.heads;
  j["num_key_value_heads"] = d.kv_heads;
  j["hidden_size"] = d.hidden;
  j["intermediate_size"] = d.ffn;
  j["vocab_size"] = d.vocab;
  j["num_prefix_layers"] = d.prefix_layers;
  j["scheduler_rank"] = d.rank;
  j["units_total"] = d.units_total;
  j["units_prefix"] = d.units_prefix;
  j["image_size"] = d.image_size;
  j["image_tokens"] =
      (d.image_size / d.patch_size) * (d.image_size / d.patch_size) + (d.keep_cls ? 1 : 0);
  j["image_token_index"] = d.image_token_index;
  j["image_aspect_ratio"] = cfg.image_aspect_ratio;
  j["conv_mode"] = "vicuna_v1";
  j["bos_token_id"] = cfg.text.bos_token_id;
  j["eos_token_id"] = cfg.text.eos_token_id;
  j["pad_token_id"] = cfg.text.pad_token_id;
  j["dtype"] = dtype == torch::kBFloat16 ? "bf16" : "fp32";
  j["source_checkpoint"] = src.checkpoint_dir;
  nlohmann::json tensors = nlohmann::json::object();
  auto add = [&](const std::string& name, const torch::Tensor& t) {
    auto c = t.contiguous();
    tensors[name] = exported::digest_hex(exported::content_digest(c.data_ptr(), c.nbytes()));
  };
  for (const auto& item : module.named_parameters(/*recurse=*/true)) add(item.name, item.value);
  for (const auto& item : module.named_buffers(/*recurse=*/true)) add(item.name, item.value);
  j["tensor_digests"] = tensors;
  j["extra_file_digests"] = extra_digests;
  return j;
}

namespace {

std::string preprocess_json(const ExportSource& src) {
  const auto& p = src.preprocess;
  nlohmann::json j = {{"shortest_edge", p.shortest_edge},
                      {"crop_height", p.crop_height},
                      {"crop_width", p.crop_width},
                      {"resize_height", p.resize_height},
                      {"resize_width", p.resize_width},
                      {"do_resize", p.do_resize},
                      {"do_center_crop", p.do_center_crop},
                      {"do_rescale", p.do_rescale},
                      {"do_normalize", p.do_normalize},
                      {"do_convert_rgb", p.do_convert_rgb},
                      {"rescale_factor", p.rescale_factor},
                      {"image_mean", p.image_mean},
                      {"image_std", p.image_std},
                      {"resample", p.resample},
                      {"pad_to_square", src.model->config.image_aspect_ratio == "pad"}};
  return j.dump(2);
}

std::string read_binary_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open", path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string digest_of(const std::string& bytes) {
  return exported::digest_hex(exported::content_digest(bytes.data(), bytes.size()));
}

}  // namespace

ExportSummary export_model(const ExportOptions& options) {
  if (options.out_path.empty()) fail("--out is required");
  const auto t0 = std::chrono::steady_clock::now();
  SourceOptions source_options;
  source_options.vision_tower_dir = options.vision_tower_dir;
  source_options.dtype = options.dtype;
  ExportSource src = read_export_source(options.checkpoint_dir, source_options);
  torch::jit::Module module = build_scripted_model(src);
  const auto t1 = std::chrono::steady_clock::now();

  torch::jit::ExtraFilesMap extra;
  extra[exported::kTokenizerFile] = read_binary_file(src.tokenizer_path);
  extra[exported::kPreprocessFile] = preprocess_json(src);
  extra[exported::kSourceConfigFile] = src.source_config.dump(2);
  std::map<std::string, std::string> digests;
  for (const auto& [name, bytes] : extra) digests[name] = digest_of(bytes);
  extra[exported::kConfigFile] = exported_config(src, module, digests).dump(2);
  extra[exported::kVersionFile] = std::to_string(exported::kFormatVersion);

  namespace fs = std::filesystem;
  const std::string tmp = options.out_path + ".tmp";
  try {
    module.save(tmp, extra);
  } catch (const c10::Error& e) {
    fail("{}: cannot write the exported model: {}", options.out_path, e.what_without_backtrace());
  }
  std::error_code ec;
  fs::rename(tmp, options.out_path, ec);
  if (ec) fail("{}: cannot move the exported model into place: {}", options.out_path, ec.message());
  const auto t2 = std::chrono::steady_clock::now();

  ExportSummary s;
  s.variant = src.scheduler ? src.scheduler->variant : "plain";
  for (const auto& item : module.named_parameters(true)) {
    ++s.num_tensors;
    s.num_elements += item.value.numel();
  }
  s.file_bytes = static_cast<int64_t>(fs::file_size(options.out_path));
  s.build_seconds = std::chrono::duration<double>(t1 - t0).count();
  s.save_seconds = std::chrono::duration<double>(t2 - t1).count();
  return s;
}

}  // namespace adallava::exporter
