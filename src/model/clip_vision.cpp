#include "model/clip_vision.h"

#include <cmath>

#include <torch/torch.h>

#include "common/error.h"

namespace adallava::model {

namespace F = torch::nn::functional;

ClipAttentionImpl::ClipAttentionImpl(const VisionConfig& cfg)
    : num_heads(cfg.num_heads), scale(1.0 / std::sqrt(static_cast<double>(cfg.head_dim()))) {
  const int d = cfg.hidden_size;
  q_proj = register_module("q_proj", torch::nn::Linear(d, d));
  k_proj = register_module("k_proj", torch::nn::Linear(d, d));
  v_proj = register_module("v_proj", torch::nn::Linear(d, d));
  out_proj = register_module("out_proj", torch::nn::Linear(d, d));
}

torch::Tensor ClipAttentionImpl::forward(const torch::Tensor& x) {
  const auto B = x.size(0), T = x.size(1), D = x.size(2);
  const auto hd = D / num_heads;
  // HF scales q before the product; keep that order for bit-level closeness.
  auto q = (q_proj(x) * scale).view({B, T, num_heads, hd}).transpose(1, 2);
  auto k = k_proj(x).view({B, T, num_heads, hd}).transpose(1, 2);
  auto v = v_proj(x).view({B, T, num_heads, hd}).transpose(1, 2);
  auto attn = torch::softmax(torch::matmul(q, k.transpose(-1, -2)), -1);
  auto out = torch::matmul(attn, v).transpose(1, 2).reshape({B, T, D});
  return out_proj(out);
}

ClipMlpImpl::ClipMlpImpl(const VisionConfig& cfg) : quick_gelu(cfg.hidden_act == "quick_gelu") {
  fc1 = register_module("fc1", torch::nn::Linear(cfg.hidden_size, cfg.intermediate_size));
  fc2 = register_module("fc2", torch::nn::Linear(cfg.intermediate_size, cfg.hidden_size));
}

torch::Tensor ClipMlpImpl::forward(const torch::Tensor& x) {
  auto h = fc1(x);
  h = quick_gelu ? h * torch::sigmoid(1.702 * h) : torch::gelu(h);
  return fc2(h);
}

ClipEncoderLayerImpl::ClipEncoderLayerImpl(const VisionConfig& cfg) {
  auto ln = [&] {
    return torch::nn::LayerNorm(
        torch::nn::LayerNormOptions({cfg.hidden_size}).eps(cfg.layer_norm_eps));
  };
  self_attn = register_module("self_attn", ClipAttention(cfg));
  layer_norm1 = register_module("layer_norm1", ln());
  mlp = register_module("mlp", ClipMlp(cfg));
  layer_norm2 = register_module("layer_norm2", ln());
}

torch::Tensor ClipEncoderLayerImpl::forward(const torch::Tensor& x) {
  auto h = x + self_attn(layer_norm1(x));
  return h + mlp(layer_norm2(h));
}

ClipEmbeddingsImpl::ClipEmbeddingsImpl(const VisionConfig& cfg) {
  class_embedding = register_parameter("class_embedding", torch::randn({cfg.hidden_size}));
  patch_embedding = register_module(
      "patch_embedding",
      torch::nn::Conv2d(torch::nn::Conv2dOptions(cfg.num_channels, cfg.hidden_size, cfg.patch_size)
                            .stride(cfg.patch_size)
                            .bias(false)));
  position_embedding = register_module(
      "position_embedding", torch::nn::Embedding(cfg.num_patches() + 1, cfg.hidden_size));
}

torch::Tensor ClipEmbeddingsImpl::forward(const torch::Tensor& pixels) {
  const auto B = pixels.size(0);
  auto patches = patch_embedding(pixels).flatten(2).transpose(1, 2);  // [B, P, D], row-major grid
  auto cls = class_embedding.view({1, 1, -1}).expand({B, 1, class_embedding.size(0)});
  auto x = torch::cat({cls, patches}, 1);
  return x + position_embedding->weight.slice(0, 0, x.size(1)).unsqueeze(0);
}

ClipEncoderImpl::ClipEncoderImpl(const VisionConfig& cfg) {
  for (int i = 0; i < cfg.num_layers; ++i) layers->push_back(ClipEncoderLayer(cfg));
  register_module("layers", layers);
}

ClipVisionTransformerImpl::ClipVisionTransformerImpl(const VisionConfig& cfg) {
  auto ln = [&] {
    return torch::nn::LayerNorm(
        torch::nn::LayerNormOptions({cfg.hidden_size}).eps(cfg.layer_norm_eps));
  };
  embeddings = register_module("embeddings", ClipEmbeddings(cfg));
  pre_layrnorm = register_module("pre_layrnorm", ln());
  encoder = register_module("encoder", ClipEncoder(cfg));
  post_layernorm = register_module("post_layernorm", ln());
}

ClipVisionModelImpl::ClipVisionModelImpl(const VisionConfig& cfg) : config(cfg) {
  vision_model = register_module("vision_model", ClipVisionTransformer(cfg));
}

std::vector<torch::Tensor> ClipVisionModelImpl::hidden_states(const torch::Tensor& pixels,
                                                              int num_layers_to_run) {
  if (pixels.dim() != 4 || pixels.size(1) != config.num_channels ||
      pixels.size(2) != config.image_size || pixels.size(3) != config.image_size)
    fail("vision tower expects pixels [B, {}, {}, {}], got {}", config.num_channels,
         config.image_size, config.image_size, c10::str(pixels.sizes()));
  std::vector<torch::Tensor> states;
  auto x = vision_model->pre_layrnorm(vision_model->embeddings(pixels));
  states.push_back(x);
  auto& layers = vision_model->encoder->layers;
  for (int i = 0; i < num_layers_to_run; ++i) {
    x = layers[i]->as<ClipEncoderLayer>()->forward(x);
    states.push_back(x);
  }
  return states;
}

torch::Tensor ClipVisionModelImpl::select_features(const torch::Tensor& pixels, int select_layer,
                                                   const std::string& select_feature) {
  const int total = config.num_layers + 1;  // embeddings + one state per layer
  const int index = select_layer < 0 ? total + select_layer : select_layer;
  if (index < 0 || index >= total)
    fail("vision select layer {} is out of range for a tower with {} layers", select_layer,
         config.num_layers);
  auto states = hidden_states(pixels, index);
  auto feature = states.back();
  if (select_feature == "patch") return feature.slice(1, 1);
  if (select_feature == "cls_patch") return feature;
  fail("unknown vision select feature '{}'", select_feature);
}

}  // namespace adallava::model
