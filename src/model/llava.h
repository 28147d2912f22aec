// LLaVA-1.5: CLIP tower + projector + LLaMA, with parameter names of the original
// liuhaotian/llava-v1.5 layout (model.*, lm_head.*, model.mm_projector.*,
// model.vision_tower.vision_tower.vision_model.*), which is also what our checkpoints use.
#pragma once

#include <optional>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>

#include "model/clip_vision.h"
#include "model/config.h"
#include "model/execution_plan.h"
#include "model/llama.h"

namespace adallava::model {

// LLaVA's CLIPVisionTower wrapper: holds the HF model under "vision_tower".
struct VisionTowerImpl : torch::nn::Module {
  explicit VisionTowerImpl(const VisionConfig& cfg);
  ClipVisionModel vision_tower{nullptr};
};
TORCH_MODULE(VisionTower);

// build_vision_projector: "linear" (one Linear: parameters "weight", "bias") or "mlp{N}x_gelu"
// (Linear, GELU, Linear, ... as Python's nn.Sequential names them: "0", "2", "4", ...).
struct ProjectorImpl : torch::nn::Module {
  ProjectorImpl(const std::string& type, int mm_hidden, int hidden);
  torch::Tensor forward(torch::Tensor x);
  std::string type;
  std::vector<torch::nn::Linear> linears;  // for mlp types
  torch::Tensor weight, bias;              // for "linear"
};
TORCH_MODULE(Projector);

struct LlavaBackboneImpl : torch::nn::Module {
  LlavaBackboneImpl(const LlavaConfig& cfg, const VisionConfig& vision);
  torch::nn::Embedding embed_tokens{nullptr};
  torch::nn::ModuleList layers;
  RmsNorm norm{nullptr};
  Projector mm_projector{nullptr};
  VisionTower vision_tower{nullptr};
};
TORCH_MODULE(LlavaBackbone);

// LLM inputs after splicing image features into the token embeddings.
struct MultimodalInputs {
  torch::Tensor embeds;          // [B, T, D]
  torch::Tensor attention_mask;  // [B, T] bool, false at padding
  torch::Tensor position_ids;    // [B, T] int64
  torch::Tensor labels;          // [B, T] int64 (-100 = no loss); defined when labels were given
  std::vector<int64_t> lengths;  // unpadded length per sample
};

enum class PaddingSide { Left, Right };

// Token ids of one sample; kImageTokenIndex (-200) or the config's image_token_index mark
// where an image's features go.
struct SampleTokens {
  std::vector<int64_t> ids;
  std::vector<int64_t> labels;  // optional: same length as ids
};

struct LlavaForCausalLMImpl : torch::nn::Module {
  LlavaForCausalLMImpl(const LlavaConfig& cfg, const VisionConfig& vision);

  // pixels [N, C, S, S] -> projected features [N, P, D_llm] (vision tower in its own dtype).
  torch::Tensor encode_images(const torch::Tensor& pixels);
  torch::Tensor project(const torch::Tensor& vision_features);

  // prepare_inputs_labels_for_multimodal: images are consumed in order, one per placeholder;
  // samples are padded on `side` (training pads right, batched generation pads left).
  MultimodalInputs prepare_inputs(const std::vector<SampleTokens>& samples,
                                  const std::vector<torch::Tensor>& image_features,
                                  PaddingSide side);

  // Runs the decoder on embeds [B,T,D]. With `cache`, keys/values are stored after
  // cache->length and the length advances by T. key_valid is [B, past+T] (false at padding).
  // Returns the final-normed hidden states [B,T,D]; optionally every layer's input.
  // `plan` (one entry per layer, or null = all units) is applied as LayerUnits describe.
  torch::Tensor decode(const torch::Tensor& embeds, const torch::Tensor& key_valid,
                       const torch::Tensor& position_ids, KVCache* cache,
                       std::vector<torch::Tensor>* layer_inputs = nullptr,
                       const std::vector<LayerUnits>* plan = nullptr);

  // The pieces of decode, for callers that act between layers (AdaLLaVA's scheduler reads the
  // residual stream entering layer N_pre): rotary tables and mask of one step, then a range
  // of layers. run_layers does not advance cache->length; decode does.
  AttentionContext step_context(const torch::Tensor& key_valid, const torch::Tensor& position_ids,
                                const KVCache* cache, torch::ScalarType dtype) const;
  torch::Tensor run_layers(torch::Tensor x, const AttentionContext& ctx, KVCache* cache, int begin,
                           int end, const std::vector<LayerUnits>* plan = nullptr,
                           std::vector<torch::Tensor>* layer_inputs = nullptr);

  torch::Tensor logits(const torch::Tensor& hidden) { return lm_head(hidden).to(torch::kFloat32); }

  bool is_image_token(int64_t id) const;

  // Depth ablation: drops every decoder layer from `keep` on (the final norm and LM head stay),
  // as if the checkpoint had been trained with `keep` layers. Plain LLaVA only.
  void keep_first_layers(int keep);

  LlavaConfig config;
  VisionConfig vision_config;
  // Set for latency-budgeted (AdaLLaVA) models; its parameters are the "scheduler" submodule.
  std::shared_ptr<PlanScheduler> plan_scheduler;
  LlavaBackbone model{nullptr};
  torch::nn::Linear lm_head{nullptr};
};
TORCH_MODULE(LlavaForCausalLM);

}  // namespace adallava::model
