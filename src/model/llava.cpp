#include "model/llava.h"

#include <regex>

#include <torch/torch.h>

#include "common/error.h"
#include "data/text/tokenizer.h"

namespace adallava::model {

VisionTowerImpl::VisionTowerImpl(const VisionConfig& cfg) {
  vision_tower = register_module("vision_tower", ClipVisionModel(cfg));
}

ProjectorImpl::ProjectorImpl(const std::string& type_, int mm_hidden, int hidden) : type(type_) {
  if (type == "linear") {
    torch::nn::Linear lin(mm_hidden, hidden);
    weight = register_parameter("weight", lin->weight.detach().clone());
    bias = register_parameter("bias", lin->bias.detach().clone());
    return;
  }
  static const std::regex mlp_re("^mlp(\\d+)x_gelu$");
  std::smatch m;
  if (!std::regex_match(type, m, mlp_re))
    fail("unknown mm_projector_type '{}' (expected linear or mlp<N>x_gelu)", type);
  const int depth = std::stoi(m[1]);
  if (depth < 1) fail("projector type '{}': depth must be at least 1", type);
  for (int i = 0; i < depth; ++i) {
    // Index 2i in nn.Sequential: the GELUs in between hold no parameters.
    linears.push_back(register_module(std::to_string(2 * i),
                                      torch::nn::Linear(i == 0 ? mm_hidden : hidden, hidden)));
  }
}

torch::Tensor ProjectorImpl::forward(torch::Tensor x) {
  if (type == "linear") return torch::nn::functional::linear(x, weight, bias);
  for (size_t i = 0; i < linears.size(); ++i) {
    if (i > 0) x = torch::gelu(x);  // nn.GELU(): the exact erf form
    x = linears[i](x);
  }
  return x;
}

LlavaBackboneImpl::LlavaBackboneImpl(const LlavaConfig& cfg, const VisionConfig& vision) {
  const auto& t = cfg.text;
  embed_tokens = register_module("embed_tokens", torch::nn::Embedding(t.vocab_size, t.hidden_size));
  for (int i = 0; i < t.num_layers; ++i) layers->push_back(LlamaDecoderLayer(t));
  register_module("layers", layers);
  norm = register_module("norm", RmsNorm(t.hidden_size, t.rms_norm_eps));
  mm_projector = register_module("mm_projector",
                                 Projector(cfg.projector_type, cfg.mm_hidden_size, t.hidden_size));
  vision_tower = register_module("vision_tower", VisionTower(vision));
}

LlavaForCausalLMImpl::LlavaForCausalLMImpl(const LlavaConfig& cfg, const VisionConfig& vision)
    : config(cfg), vision_config(vision) {
  if (cfg.mm_hidden_size != vision.hidden_size)
    fail("{}: mm_hidden_size {} does not match the vision tower's hidden_size {}", cfg.config_path,
         cfg.mm_hidden_size, vision.hidden_size);
  model = register_module("model", LlavaBackbone(cfg, vision));
  lm_head = register_module(
      "lm_head",
      torch::nn::Linear(
          torch::nn::LinearOptions(cfg.text.hidden_size, cfg.text.vocab_size).bias(false)));
  if (cfg.text.tie_word_embeddings) lm_head->weight = model->embed_tokens->weight;
}

void LlavaForCausalLMImpl::keep_first_layers(int keep) {
  if (plan_scheduler) fail("keeping only the first layers needs a plain LLaVA model");
  if (keep < 1 || keep > config.text.num_layers)
    fail("cannot keep the first {} of {} decoder layers", keep, config.text.num_layers);
  torch::nn::ModuleList kept;
  for (int i = 0; i < keep; ++i) kept->push_back(model->layers[i]);
  model->layers = model->replace_module("layers", kept);
  config.text.num_layers = keep;
}

bool LlavaForCausalLMImpl::is_image_token(int64_t id) const {
  return id == text::kImageTokenIndex || id == config.image_token_index;
}

torch::Tensor LlavaForCausalLMImpl::project(const torch::Tensor& features) {
  return model->mm_projector(features);
}

torch::Tensor LlavaForCausalLMImpl::encode_images(const torch::Tensor& pixels) {
  auto& tower = model->vision_tower->vision_tower;
  const auto tower_dtype = tower->vision_model->pre_layrnorm->weight.scalar_type();
  auto features = tower->select_features(pixels.to(tower_dtype), config.vision_select_layer,
                                         config.vision_select_feature);
  const auto llm_dtype = model->embed_tokens->weight.scalar_type();
  return project(features.to(llm_dtype));
}

MultimodalInputs LlavaForCausalLMImpl::prepare_inputs(
    const std::vector<SampleTokens>& samples, const std::vector<torch::Tensor>& image_features,
    PaddingSide side) {
  const auto& emb_weight = model->embed_tokens->weight;
  const int64_t D = emb_weight.size(1);
  const bool with_labels = !samples.empty() && !samples[0].labels.empty();
  std::vector<torch::Tensor> seq_embeds, seq_labels;
  size_t image_index = 0;
  for (const auto& sample : samples) {
    if (with_labels && sample.labels.size() != sample.ids.size())
      fail("sample has {} ids but {} labels", sample.ids.size(), sample.labels.size());
    std::vector<torch::Tensor> pieces, label_pieces;
    std::vector<int64_t> text_ids, text_labels;
    auto flush_text = [&] {
      if (text_ids.empty()) return;
      for (auto id : text_ids)
        if (id < 0 || id >= emb_weight.size(0))
          fail("token id {} is outside the vocabulary of {} entries", id, emb_weight.size(0));
      auto ids = torch::tensor(text_ids, torch::kInt64);
      pieces.push_back(torch::embedding(emb_weight, ids));
      if (with_labels) label_pieces.push_back(torch::tensor(text_labels, torch::kInt64));
      text_ids.clear();
      text_labels.clear();
    };
    for (size_t i = 0; i < sample.ids.size(); ++i) {
      if (is_image_token(sample.ids[i])) {
        flush_text();
        if (image_index >= image_features.size())
          fail("the prompt has more image placeholders than images ({})", image_features.size());
        auto feat = image_features[image_index++];
        if (feat.dim() == 3) feat = feat.squeeze(0);
        pieces.push_back(feat.to(emb_weight.scalar_type()));
        if (with_labels)
          label_pieces.push_back(torch::full({feat.size(0)}, text::kIgnoreIndex, torch::kInt64));
      } else {
        text_ids.push_back(sample.ids[i]);
        if (with_labels) text_labels.push_back(sample.labels[i]);
      }
    }
    flush_text();
    auto e = pieces.empty() ? torch::zeros({0, D}, emb_weight.options()) : torch::cat(pieces, 0);
    torch::Tensor l;
    if (with_labels)
      l = label_pieces.empty() ? torch::zeros({0}, torch::kInt64) : torch::cat(label_pieces, 0);
    if (config.tokenizer_model_max_length && e.size(0) > *config.tokenizer_model_max_length) {
      e = e.slice(0, 0, *config.tokenizer_model_max_length);
      if (with_labels) l = l.slice(0, 0, *config.tokenizer_model_max_length);
    }
    seq_embeds.push_back(e);
    seq_labels.push_back(l);
  }

  MultimodalInputs out;
  const int64_t B = static_cast<int64_t>(samples.size());
  int64_t T = 0;
  for (auto& e : seq_embeds) {
    out.lengths.push_back(e.size(0));
    T = std::max<int64_t>(T, e.size(0));
  }
  out.embeds = torch::zeros({B, T, D}, emb_weight.options());
  out.attention_mask = torch::zeros({B, T}, torch::kBool);
  out.position_ids = torch::zeros({B, T}, torch::kInt64);
  if (with_labels) out.labels = torch::full({B, T}, text::kIgnoreIndex, torch::kInt64);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t n = out.lengths[b];
    const int64_t start = side == PaddingSide::Left ? T - n : 0;
    if (n == 0) continue;
    out.embeds[b].slice(0, start, start + n).copy_(seq_embeds[b]);
    out.attention_mask[b].slice(0, start, start + n).fill_(true);
    out.position_ids[b].slice(0, start, start + n).copy_(torch::arange(n, torch::kInt64));
    if (with_labels) out.labels[b].slice(0, start, start + n).copy_(seq_labels[b]);
  }
  return out;
}

AttentionContext LlavaForCausalLMImpl::step_context(const torch::Tensor& key_valid,
                                                    const torch::Tensor& position_ids,
                                                    const KVCache* cache,
                                                    torch::ScalarType dtype) const {
  const int64_t T = position_ids.size(1);
  AttentionContext ctx;
  ctx.past = cache ? cache->length : 0;
  ctx.cache_capacity = cache ? cache->capacity : 0;
  std::tie(ctx.cos, ctx.sin) =
      rotary_tables(position_ids, config.text.head_dim(), config.text.rope_theta, dtype);
  ctx.mask = build_attention_mask(key_valid, ctx.past, T, dtype);
  return ctx;
}

torch::Tensor LlavaForCausalLMImpl::run_layers(torch::Tensor x, const AttentionContext& ctx,
                                               KVCache* cache, int begin, int end,
                                               const std::vector<LayerUnits>* plan,
                                               std::vector<torch::Tensor>* layer_inputs) {
  for (int i = begin; i < end; ++i) {
    if (layer_inputs) layer_inputs->push_back(x);
    const LayerUnits* units = plan ? &(*plan)[i] : nullptr;
    if (units && units->skip) continue;  // no work, no cache entry
    torch::Tensor* ck = cache ? &cache->keys[i] : nullptr;
    torch::Tensor* cv = cache ? &cache->values[i] : nullptr;
    x = model->layers[i]->as<LlamaDecoderLayer>()->forward(x, ctx, ck, cv, units);
  }
  return x;
}

torch::Tensor LlavaForCausalLMImpl::decode(const torch::Tensor& embeds,
                                           const torch::Tensor& key_valid,
                                           const torch::Tensor& position_ids, KVCache* cache,
                                           std::vector<torch::Tensor>* layer_inputs,
                                           const std::vector<LayerUnits>* plan) {
  if (plan && static_cast<int>(plan->size()) != config.text.num_layers)
    fail("execution plan has {} layers, the model {}", plan->size(), config.text.num_layers);
  auto ctx = step_context(key_valid, position_ids, cache, embeds.scalar_type());
  auto x = run_layers(embeds, ctx, cache, 0, config.text.num_layers, plan, layer_inputs);
  if (cache) cache->length = ctx.past + embeds.size(1);
  return model->norm(x);
}

}  // namespace adallava::model
