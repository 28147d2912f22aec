// CLIP vision transformer with the parameter names of HF CLIPVisionModel.
#pragma once

#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include "model/config.h"

namespace adallava::model {

struct ClipAttentionImpl : torch::nn::Module {
  explicit ClipAttentionImpl(const VisionConfig& cfg);
  torch::Tensor forward(const torch::Tensor& x);
  int num_heads;
  double scale;
  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, out_proj{nullptr};
};
TORCH_MODULE(ClipAttention);

struct ClipMlpImpl : torch::nn::Module {
  explicit ClipMlpImpl(const VisionConfig& cfg);
  torch::Tensor forward(const torch::Tensor& x);
  bool quick_gelu;
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(ClipMlp);

struct ClipEncoderLayerImpl : torch::nn::Module {
  explicit ClipEncoderLayerImpl(const VisionConfig& cfg);
  torch::Tensor forward(const torch::Tensor& x);
  ClipAttention self_attn{nullptr};
  torch::nn::LayerNorm layer_norm1{nullptr}, layer_norm2{nullptr};
  ClipMlp mlp{nullptr};
};
TORCH_MODULE(ClipEncoderLayer);

struct ClipEmbeddingsImpl : torch::nn::Module {
  explicit ClipEmbeddingsImpl(const VisionConfig& cfg);
  torch::Tensor forward(const torch::Tensor& pixels);
  torch::Tensor class_embedding;
  torch::nn::Conv2d patch_embedding{nullptr};
  torch::nn::Embedding position_embedding{nullptr};
};
TORCH_MODULE(ClipEmbeddings);

struct ClipEncoderImpl : torch::nn::Module {
  explicit ClipEncoderImpl(const VisionConfig& cfg);
  torch::nn::ModuleList layers;
};
TORCH_MODULE(ClipEncoder);

struct ClipVisionTransformerImpl : torch::nn::Module {
  explicit ClipVisionTransformerImpl(const VisionConfig& cfg);
  ClipEmbeddings embeddings{nullptr};
  torch::nn::LayerNorm pre_layrnorm{nullptr};  // sic: HF's parameter name
  ClipEncoder encoder{nullptr};
  torch::nn::LayerNorm post_layernorm{nullptr};  // only for the pooled output; LLaVA ignores it
};
TORCH_MODULE(ClipVisionTransformer);

// HF CLIPVisionModel: parameters live under "vision_model.".
struct ClipVisionModelImpl : torch::nn::Module {
  explicit ClipVisionModelImpl(const VisionConfig& cfg);

  // hidden_states[0] = pre_layrnorm(embeddings), [i] = output of encoder layer i-1, for
  // i = 0..num_layers_to_run. pixels: [B, C, S, S] in the module's dtype.
  std::vector<torch::Tensor> hidden_states(const torch::Tensor& pixels, int num_layers_to_run);

  // The feature LLaVA uses: hidden_states[select_layer] (negative counts from the end, as in
  // Python), without CLS for "patch". Runs only the layers that feature needs.
  torch::Tensor select_features(const torch::Tensor& pixels, int select_layer,
                                const std::string& select_feature);

  VisionConfig config;
  ClipVisionTransformer vision_model{nullptr};
};
TORCH_MODULE(ClipVisionModel);

}  // namespace adallava::model
