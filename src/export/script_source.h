// TorchScript source of the exported model, generated for one architecture.
//
// Dimensions are written into the source as literals: the interpreter then sees constants, and
// one class type serves every layer of a kind (they share their dimensions).
#pragma once

#include <cstdint>
#include <string>

namespace adallava::exporter {

struct ScriptDims {
  // Vision tower (CLIP).
  int64_t vision_hidden = 0, vision_heads = 0, vision_layers_run = 0, image_size = 0,
          patch_size = 0, channels = 3;
  double vision_eps = 1e-5;
  bool quick_gelu = true;
  bool keep_cls = false;  // mm_vision_select_feature == "cls_patch"
  // Projector: 0 = "linear", N = "mlpNx_gelu".
  int64_t projector_depth = 2;
  // LLaMA.
  int64_t layers = 0, hidden = 0, heads = 0, kv_heads = 0, head_dim = 0, ffn = 0, vocab = 0;
  double rms_eps = 1e-5;
  double mask_min = 0;  // additive mask value of the compute dtype (as the eager model)
  int64_t image_token_index = -200;
  int64_t max_length = 0;  // tokenizer_model_max_length (0 = none)
  int64_t eos_token_id = 2;
  // AdaLLaVA.
  bool has_scheduler = false;
  bool variant_h = false;
  int64_t prefix_layers = 0, rank = 0;
  int64_t units_total = 0, units_prefix = 0;  // N_total, N_prefix (for 1.0 for plain models)
  int format_version = 1;
};

std::string clip_layer_source(const ScriptDims& d);
std::string vision_tower_source(const ScriptDims& d);
std::string decoder_layer_source(const ScriptDims& d);
std::string model_source(const ScriptDims& d);

}  // namespace adallava::exporter
