#include "export/script_source.h"

#include <cmath>
#include <map>

#include <c10/core/ScalarType.h>
#include <fmt/format.h>

namespace adallava::exporter {
namespace {

// Literal forms that round-trip exactly through the TorchScript parser.
std::string lit(double v) {
  return fmt::format("{:.17g}", v);
}
std::string lit(int64_t v) {
  return std::to_string(v);
}

// Replaces ${NAME} in `tmpl`. The C++ frontend resolves `torch.` to ATen operators only, so
// dtypes are written as their ScalarType numbers (the sources keep the readable names).
std::string render(std::string tmpl, const std::map<std::string, std::string>& vars_in) {
  auto vars = vars_in;
  vars.emplace("torch.float32", std::to_string(static_cast<int>(c10::ScalarType::Float)));
  vars.emplace("torch.long", std::to_string(static_cast<int>(c10::ScalarType::Long)));
  for (const auto& [name, value] : vars) {
    const std::string key = name.rfind("torch.", 0) == 0 ? name : "${" + name + "}";
    for (size_t pos = tmpl.find(key); pos != std::string::npos;
         pos = tmpl.find(key, pos + value.size()))
      tmpl.replace(pos, key.size(), value);
  }
  return tmpl;
}

// HF CLIPEncoderLayer with the eager model's operation order (q scaled before the product).
const char* kClipLayer = R"PY(
def forward(self, x: Tensor) -> Tensor:
    B = x.size(0)
    T = x.size(1)
    h = torch.layer_norm(x, [${D}], self.layer_norm1_weight, self.layer_norm1_bias, ${EPS})
    q = (torch.linear(h, self.q_proj_weight, self.q_proj_bias) * ${SCALE}).view([B, T, ${NH}, ${HD}]).transpose(1, 2)
    k = torch.linear(h, self.k_proj_weight, self.k_proj_bias).view([B, T, ${NH}, ${HD}]).transpose(1, 2)
    v = torch.linear(h, self.v_proj_weight, self.v_proj_bias).view([B, T, ${NH}, ${HD}]).transpose(1, 2)
    attn = torch.softmax(torch.matmul(q, k.transpose(-1, -2)), -1)
    out = torch.matmul(attn, v).transpose(1, 2).reshape([B, T, ${D}])
    x = x + torch.linear(out, self.out_proj_weight, self.out_proj_bias)
    h = torch.layer_norm(x, [${D}], self.layer_norm2_weight, self.layer_norm2_bias, ${EPS})
    h = torch.linear(h, self.fc1_weight, self.fc1_bias)
    ${ACT}
    return x + torch.linear(h, self.fc2_weight, self.fc2_bias)
)PY";

const char* kVisionTowerHead = R"PY(
def forward(self, pixels: Tensor) -> Tensor:
    B = pixels.size(0)
    patches = torch.conv2d(pixels, self.patch_embedding, None, [${P}, ${P}]).flatten(2).transpose(1, 2)
    cls = self.class_embedding.view([1, 1, ${D}]).expand([B, 1, ${D}])
    x = torch.cat([cls, patches], 1)
    x = x + self.position_embedding.narrow(0, 0, x.size(1)).unsqueeze(0)
    x = torch.layer_norm(x, [${D}], self.pre_layrnorm_weight, self.pre_layrnorm_bias, ${EPS})
)PY";

// LlamaDecoderLayer: RMSNorm in float32, rotate-half RoPE, grouped-query attention with the
// query heads of a group stacked along time (as the eager model), softmax in float32, and a KV
// cache preallocated to a capacity and grown by doubling. forward_sliced is AdaLLaVA-H's
// partially active layer: weights sliced to the active heads / MLP neurons, a cache of the
// active heads only.
const char* kDecoderLayer = R"PY(
def _rms(self, x: Tensor, weight: Tensor) -> Tensor:
    x32 = x.to(torch.float32)
    normed = x32 * torch.rsqrt(x32.pow(2).mean(-1, True) + ${EPS})
    return weight * normed.to(x.dtype)

def _rotary(self, x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    x1 = x.narrow(-1, 0, ${HALF})
    x2 = x.narrow(-1, ${HALF}, ${HALF})
    rotated = torch.cat([-x2, x1], -1)
    return x * cos + rotated * sin

def _attend(self, q: Tensor, k_new: Tensor, v_new: Tensor, mask: Optional[Tensor], cache_k: Tensor, cache_v: Tensor, past: int, capacity: int) -> Tuple[Tensor, Tensor, Tensor]:
    B = q.size(0)
    H = q.size(1)
    T = q.size(2)
    Hkv = k_new.size(1)
    end = past + T
    if cache_k.dim() != 4 or end > cache_k.size(2):
        size = max(end, capacity)
        if cache_k.dim() == 4:
            size = max(size, 2 * cache_k.size(2))
        grown_k = torch.zeros([B, Hkv, size, ${HD}], dtype=k_new.dtype)
        grown_v = torch.zeros([B, Hkv, size, ${HD}], dtype=v_new.dtype)
        if past > 0:
            grown_k.narrow(2, 0, past).copy_(cache_k.narrow(2, 0, past))
            grown_v.narrow(2, 0, past).copy_(cache_v.narrow(2, 0, past))
        cache_k = grown_k
        cache_v = grown_v
    cache_k.narrow(2, past, T).copy_(k_new)
    cache_v.narrow(2, past, T).copy_(v_new)
    k = cache_k.narrow(2, 0, end)
    v = cache_v.narrow(2, 0, end)
    group = H // Hkv
    qg = q.reshape([B, Hkv, group * T, ${HD}])
    scores = torch.matmul(qg, k.transpose(-1, -2)) * ${SCALE}
    scores = scores.view([B, Hkv, group, T, end])
    if mask is not None:
        scores = scores + mask.view([B, 1, 1, T, end])
    probs = torch.softmax(scores, -1, torch.float32).to(q.dtype)
    out = torch.matmul(probs.view([B, Hkv, group * T, end]), v)
    return out.view([B, H, T, ${HD}]), cache_k, cache_v

def forward(self, x: Tensor, cos: Tensor, sin: Tensor, mask: Optional[Tensor], cache_k: Tensor, cache_v: Tensor, past: int, capacity: int) -> Tuple[Tensor, Tensor, Tensor]:
    B = x.size(0)
    T = x.size(1)
    h = self._rms(x, self.input_layernorm)
    q = torch.linear(h, self.q_proj).view([B, T, ${NH}, ${HD}]).transpose(1, 2)
    k = torch.linear(h, self.k_proj).view([B, T, ${NKV}, ${HD}]).transpose(1, 2)
    v = torch.linear(h, self.v_proj).view([B, T, ${NKV}, ${HD}]).transpose(1, 2)
    q = self._rotary(q, cos, sin)
    k = self._rotary(k, cos, sin)
    out, cache_k, cache_v = self._attend(q, k, v, mask, cache_k, cache_v, past, capacity)
    x = x + torch.linear(out.transpose(1, 2).reshape([B, T, ${NH} * ${HD}]), self.o_proj)
    h = self._rms(x, self.post_attention_layernorm)
    x = x + torch.linear(torch.silu(torch.linear(h, self.gate_proj)) * torch.linear(h, self.up_proj), self.down_proj)
    return x, cache_k, cache_v

def forward_sliced(self, x: Tensor, cos: Tensor, sin: Tensor, mask: Optional[Tensor], cache_k: Tensor, cache_v: Tensor, past: int, capacity: int, head_rows: Tensor, neurons: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
    B = x.size(0)
    T = x.size(1)
    n_heads = head_rows.size(0) // ${HD}
    if n_heads > 0:
        h = self._rms(x, self.input_layernorm)
        q = torch.linear(h, self.q_proj.index_select(0, head_rows)).view([B, T, n_heads, ${HD}]).transpose(1, 2)
        k = torch.linear(h, self.k_proj.index_select(0, head_rows)).view([B, T, n_heads, ${HD}]).transpose(1, 2)
        v = torch.linear(h, self.v_proj.index_select(0, head_rows)).view([B, T, n_heads, ${HD}]).transpose(1, 2)
        q = self._rotary(q, cos, sin)
        k = self._rotary(k, cos, sin)
        out, cache_k, cache_v = self._attend(q, k, v, mask, cache_k, cache_v, past, capacity)
        x = x + torch.linear(out.transpose(1, 2).reshape([B, T, n_heads * ${HD}]), self.o_proj.index_select(1, head_rows))
    if neurons.size(0) > 0:
        h = self._rms(x, self.post_attention_layernorm)
        gate = torch.linear(h, self.gate_proj.index_select(0, neurons))
        up = torch.linear(h, self.up_proj.index_select(0, neurons))
        x = x + torch.linear(torch.silu(gate) * up, self.down_proj.index_select(1, neurons))
    return x, cache_k, cache_v
)PY";

// The public methods. A cache is (keys, values, length): per layer [1, heads, capacity, hd]
// (an empty tensor for a skipped layer), updated in place where the capacity allows.
const char* kModelCommon = R"PY(
def format_version(self) -> int:
    return ${FORMAT_VERSION}

def budget_to_units(self, budget: float) -> int:
    if not (budget >= 0.0 and budget <= 1.0):
        raise ValueError("latency budget must be between 0 and 1, got " + str(budget))
${BUDGET_BODY}

def encode_image(self, pixels: Tensor) -> Tensor:
    if pixels.dim() == 3:
        pixels = pixels.unsqueeze(0)
    if pixels.dim() != 4 or pixels.size(1) != ${C} or pixels.size(2) != ${S} or pixels.size(3) != ${S}:
        raise ValueError("encode_image: expected pixels [N, ${C}, ${S}, ${S}], got " + str(pixels.size()))
    features = self.vision_tower.forward(pixels.to(self.embed_tokens.dtype))
${PROJECTOR}
    return h

def embed_prompt(self, input_ids: Tensor, image_features: Optional[Tensor]) -> Tensor:
    if input_ids.dim() == 2 and input_ids.size(0) == 1:
        input_ids = input_ids.view(-1)
    if input_ids.dim() != 1:
        raise ValueError("input_ids must be 1-D (one prompt), got " + str(input_ids.size()))
    ids = input_ids.to(torch.long)
    id_list: List[int] = ids.tolist()
    pieces: List[Tensor] = []
    start = 0
    image = 0
    for i in range(len(id_list)):
        t = id_list[i]
        if t == -200 or t == ${IMAGE_TOKEN}:
            if i > start:
                pieces.append(torch.embedding(self.embed_tokens, ids.narrow(0, start, i - start)))
            if image_features is None:
                raise ValueError("the prompt has an image placeholder but no image features were given")
            features = image_features
            if features.dim() == 2:
                features = features.unsqueeze(0)
            if image >= features.size(0):
                raise ValueError("the prompt has more image placeholders than images (" + str(features.size(0)) + ")")
            pieces.append(features[image].to(self.embed_tokens.dtype))
            image += 1
            start = i + 1
        elif t < 0 or t >= ${V}:
            raise ValueError("token id " + str(t) + " is outside the vocabulary of ${V} entries")
    if len(id_list) > start:
        pieces.append(torch.embedding(self.embed_tokens, ids.narrow(0, start, len(id_list) - start)))
    if len(pieces) == 0:
        raise ValueError("empty prompt")
    embeds = torch.cat(pieces, 0)
    if ${MAX_LEN} > 0 and embeds.size(0) > ${MAX_LEN}:
        embeds = embeds.narrow(0, 0, ${MAX_LEN})
    return embeds

def _rope(self, start: int, T: int) -> Tuple[Tensor, Tensor]:
    positions = torch.arange(start, start + T, dtype=torch.long).to(torch.float32)
    freqs = positions.unsqueeze(-1) * self.rope_inv_freq
    emb = torch.cat([freqs, freqs], -1)
    dtype = self.embed_tokens.dtype
    return emb.cos().to(dtype).view([1, 1, T, ${HD}]), emb.sin().to(dtype).view([1, 1, T, ${HD}])

def _logits(self, x: Tensor) -> Tensor:
    x32 = x.to(torch.float32)
    normed = self.norm * (x32 * torch.rsqrt(x32.pow(2).mean(-1, True) + ${EPS})).to(x.dtype)
    return torch.linear(normed, self.lm_head).to(torch.float32)

def _unit_counts(self, plan: Tensor) -> List[List[int]]:
    if plan.dim() != 3 or plan.size(0) != ${L} or plan.size(1) != 2 or plan.size(2) != ${NH}:
        raise ValueError("plan must be [${L}, 2, ${NH}], got " + str(plan.size()))
    counts: List[List[int]] = (plan > 0.5).sum(-1).tolist()
    return counts

def plan_heads(self, plan: Tensor) -> List[int]:
    counts = self._unit_counts(plan)
    out: List[int] = []
    for i in range(${L}):
        if counts[i][0] == 0 and counts[i][1] == 0:
            out.append(-1)
        else:
            out.append(counts[i][0])
    return out

def _run_layer(self, i: int, x: Tensor, cos: Tensor, sin: Tensor, mask: Optional[Tensor], cache_k: Tensor, cache_v: Tensor, past: int, capacity: int, plan: Tensor, n_heads: int, n_groups: int) -> Tuple[Tensor, Tensor, Tensor]:
    if n_heads == 0 and n_groups == 0:
        return x, cache_k, cache_v
    if n_heads == ${NH} and n_groups == ${NH}:
        return self._full_layer(i, x, cos, sin, mask, cache_k, cache_v, past, capacity)
    if ${NKV} != ${NH}:
        raise ValueError("layer " + str(i) + " is partially active, which needs num_key_value_heads == num_attention_heads (as the reference implementation)")
    heads = torch.nonzero(plan[i, 0] > 0.5).view(-1)
    rows = (heads.unsqueeze(1) * ${HD} + torch.arange(${HD}, dtype=torch.long).unsqueeze(0)).view(-1)
    neurons = torch.nonzero(torch.repeat_interleave(plan[i, 1], self.mlp_group_sizes) > 0.5).view(-1)
    return self._sliced_layer(i, x, cos, sin, mask, cache_k, cache_v, past, capacity, rows, neurons)

def prefill(self, input_ids: Tensor, image_features: Optional[Tensor], budget: float, max_new_tokens: int = 0, all_logits: bool = False) -> Tuple[Tensor, Tuple[List[Tensor], List[Tensor], int], Tensor]:
    units = self.budget_to_units(budget)
    x = self.embed_prompt(input_ids, image_features).unsqueeze(0)
${LATENCY_INSERT}
    T = x.size(1)
    cos, sin = self._rope(0, T)
    mask = torch.full([T, T], ${MASK_MIN}, dtype=x.dtype).triu(1).view([1, 1, T, T])
    capacity = T + max(max_new_tokens, 0)
    plan = torch.ones([${L}, 2, ${NH}], dtype=torch.float32)
    counts = self._unit_counts(plan)
    keys: List[Tensor] = []
    values: List[Tensor] = []
    for i in range(${L}):
${SCHEDULE_AT_PREFIX}
        x, ck, cv = self._run_layer(i, x, cos, sin, mask, torch.empty([0]), torch.empty([0]), 0, capacity, plan, counts[i][0], counts[i][1])
        keys.append(ck)
        values.append(cv)
    if not all_logits:
        x = x.narrow(1, T - 1, 1)
    return self._logits(x)[0], (keys, values, T), plan

def decode_step(self, token: int, cache: Tuple[List[Tensor], List[Tensor], int], plan: Tensor) -> Tuple[Tensor, Tuple[List[Tensor], List[Tensor], int]]:
    keys, values, past = cache
    if len(keys) != ${L} or len(values) != ${L}:
        raise ValueError("cache must hold ${L} layers, got " + str(len(keys)))
    if token < 0 or token >= ${V}:
        raise ValueError("token id " + str(token) + " is outside the vocabulary of ${V} entries")
    counts = self._unit_counts(plan)
    x = torch.embedding(self.embed_tokens, torch.tensor([[token]], dtype=torch.long))
    cos, sin = self._rope(past, 1)
    new_keys: List[Tensor] = []
    new_values: List[Tensor] = []
    for i in range(${L}):
        x, ck, cv = self._run_layer(i, x, cos, sin, None, keys[i], values[i], past, 0, plan, counts[i][0], counts[i][1])
        new_keys.append(ck)
        new_values.append(cv)
    return self._logits(x)[0, 0], (new_keys, new_values, past + 1)

def generate(self, input_ids: Tensor, pixels: Optional[Tensor], budget: float, max_new_tokens: int, stop_at_eos: bool = True) -> Tensor:
    features: Optional[Tensor] = None
    if pixels is not None:
        features = self.encode_image(pixels)
    logits, cache, plan = self.prefill(input_ids, features, budget, max_new_tokens, False)
    next_logits = logits[-1]
    tokens: List[int] = []
    for step in range(max_new_tokens):
        token = int(torch.argmax(next_logits))
        tokens.append(token)
        if (stop_at_eos and token == ${EOS}) or step + 1 == max_new_tokens:
            break
        next_logits, cache = self.decode_step(token, cache, plan)
    return torch.tensor(tokens, dtype=torch.long)
)PY";

// Official latency_quantizing on an exact double floor (nudged so that k/N_total written in
// decimal lands on k, as adaptive::units_for_budget does).
const char* kBudgetAdaptive = R"PY(
    executed = int(${TOTAL} * budget * (1.0 + 1e-12))
    if executed > ${TOTAL}:
        executed = ${TOTAL}
    return max(0, executed - ${PREFIX}))PY";

const char* kBudgetPlain = R"PY(
    if budget != 1.0:
        raise ValueError("this model has no AdaLLaVA scheduler (plain LLaVA): only budget 1.0 is supported, got " + str(budget))
    return 0)PY";

// Latency encoder and scheduler in the official operation order: q = k / (N_s + 1) in float32,
// [sin(2*pi*q*w), cos(2*pi*q*w)], w_i = 1 / 10000^(i/128), then LayerNorm -> Linear -> GELU ->
// Linear. The sampler at inference: masked argmax over softmax(logits) with picked units set to
// -1 (ties -> first index); H picks the layer holding the largest unpicked logit, then the top-r
// unpicked heads and MLP groups of that layer.
const char* kScheduler = R"PY(
def latency_encoding(self, units: int) -> Tensor:
    q = torch.full([1], float(units), dtype=torch.float32) / ${NS_PLUS_1}
    scaled = q * 2 * 3.141592653589793
    frequencies = torch.reciprocal(torch.pow(10000.0, torch.arange(128) / 128)) * 1
    angles = scaled.unsqueeze(1) * frequencies
    return torch.cat([torch.sin(angles), torch.cos(angles)], 1).view(-1)

def latency_token(self, units: int) -> Tensor:
    e = self.latency_encoding(units).to(self.embed_tokens.dtype)
    h = torch.layer_norm(e, [256], self.latency_norm_weight, self.latency_norm_bias, 1e-05)
    h = torch.gelu(torch.linear(h, self.latency_fc1_weight, self.latency_fc1_bias))
    return torch.linear(h, self.latency_fc2_weight, self.latency_fc2_bias)

def scheduler_logits(self, h: Tensor) -> Tensor:
    return torch.linear(h, self.scheduler_head_weight, self.scheduler_head_bias).to(torch.float32)

def schedule(self, h: Tensor, units: int) -> Tensor:
    logits = self.scheduler_logits(h)
    plan = torch.ones([${L}, 2, ${NH}], dtype=torch.float32)
${SAMPLER}
    return plan
)PY";

const char* kSamplerL = R"PY(
    chosen = torch.zeros([${NS}], dtype=torch.float32)
    for step in range(units):
        taken = chosen > 0.5
        y = torch.softmax(logits.masked_fill(taken, float("-inf")), -1).masked_fill(taken, -1.0)
        chosen.select(0, int(torch.argmax(y))).fill_(1.0)
    plan.narrow(0, ${NPRE}, ${NS}).copy_(chosen.view([${NS}, 1, 1]).expand([${NS}, 2, ${NH}])))PY";

const char* kSamplerH = R"PY(
    rows = ${L} - ${NPRE}
    grid = logits.view([rows, 2 * ${NH}])
    chosen = torch.zeros([rows, 2 * ${NH}], dtype=torch.float32)
    for step in range(units):
        taken = chosen.view(-1) > 0.5
        y = torch.softmax(grid.view(-1).masked_fill(taken, float("-inf")), -1).masked_fill(taken, -1.0)
        layer = int(torch.argmax(y)) // (2 * ${NH})
        for part in range(2):
            row = grid[layer].narrow(0, part * ${NH}, ${NH})
            row_taken = chosen[layer].narrow(0, part * ${NH}, ${NH}) > 0.5
            ys = torch.softmax(row.masked_fill(row_taken, float("-inf")), -1).masked_fill(row_taken, -1.0)
            for pick in range(${R}):
                index = int(torch.argmax(ys))
                chosen.select(0, layer).select(0, part * ${NH} + index).fill_(1.0)
                ys.select(0, index).fill_(-2.0)
    plan.narrow(0, ${NPRE}, rows).copy_(chosen.view([rows, 2, ${NH}])))PY";

const char* kLatencyInsert = R"PY(
    x = torch.cat([x, self.latency_token(units).view([1, 1, ${D}])], 1))PY";

const char* kScheduleAtPrefix = R"PY(
        if i == ${NPRE}:
            plan = self.schedule(x[0, T - 1], units)
            counts = self._unit_counts(plan))PY";

// Layer dispatch: TorchScript cannot index submodules with a runtime integer.
std::string dispatch_source(const ScriptDims& d) {
  std::string full =
      "\ndef _full_layer(self, i: int, x: Tensor, cos: Tensor, sin: Tensor, mask: "
      "Optional[Tensor], cache_k: Tensor, cache_v: Tensor, past: int, capacity: int) -> "
      "Tuple[Tensor, Tensor, Tensor]:\n";
  std::string sliced =
      "\ndef _sliced_layer(self, i: int, x: Tensor, cos: Tensor, sin: Tensor, mask: "
      "Optional[Tensor], cache_k: Tensor, cache_v: Tensor, past: int, capacity: int, rows: "
      "Tensor, neurons: Tensor) -> Tuple[Tensor, Tensor, Tensor]:\n";
  for (int64_t i = 0; i < d.layers; ++i) {
    const bool last = i + 1 == d.layers;
    const std::string guard = last ? "" : fmt::format("    if i == {}:\n    ", i);
    full += guard + fmt::format(
                        "    return self.layer_{}.forward(x, cos, sin, mask, cache_k, cache_v, "
                        "past, capacity)\n",
                        i);
    sliced += guard + fmt::format(
                          "    return self.layer_{}.forward_sliced(x, cos, sin, mask, cache_k, "
                          "cache_v, past, capacity, rows, neurons)\n",
                          i);
  }
  return full + sliced;
}

std::string projector_source(const ScriptDims& d) {
  if (d.projector_depth == 0)
    return "    h = torch.linear(features, self.mm_projector_weight, self.mm_projector_bias)";
  std::string out = "    h = features";
  for (int64_t i = 0; i < d.projector_depth; ++i) {
    if (i > 0) out += "\n    h = torch.gelu(h)";
    out += fmt::format(
        "\n    h = torch.linear(h, self.mm_projector_{0}_weight, self.mm_projector_{0}_bias)",
        2 * i);
  }
  return out;
}

}  // namespace

std::string clip_layer_source(const ScriptDims& d) {
  const int64_t hd = d.vision_hidden / d.vision_heads;
  return render(kClipLayer,
                {{"D", lit(d.vision_hidden)},
                 {"NH", lit(d.vision_heads)},
                 {"HD", lit(hd)},
                 {"EPS", lit(d.vision_eps)},
                 {"SCALE", lit(1.0 / std::sqrt(static_cast<double>(hd)))},
                 {"ACT", d.quick_gelu ? "h = h * torch.sigmoid(1.702 * h)" : "h = torch.gelu(h)"}});
}

std::string vision_tower_source(const ScriptDims& d) {
  std::string src =
      render(kVisionTowerHead,
             {{"D", lit(d.vision_hidden)}, {"P", lit(d.patch_size)}, {"EPS", lit(d.vision_eps)}});
  for (int64_t i = 0; i < d.vision_layers_run; ++i)
    src += fmt::format("    x = self.layer_{}.forward(x)\n", i);
  src += d.keep_cls ? "    return x\n" : "    return x.narrow(1, 1, x.size(1) - 1)\n";
  return src;
}

std::string decoder_layer_source(const ScriptDims& d) {
  return render(kDecoderLayer, {{"EPS", lit(d.rms_eps)},
                                {"HALF", lit(d.head_dim / 2)},
                                {"HD", lit(d.head_dim)},
                                {"NH", lit(d.heads)},
                                {"NKV", lit(d.kv_heads)},
                                {"SCALE", lit(1.0 / std::sqrt(static_cast<double>(d.head_dim)))}});
}

std::string model_source(const ScriptDims& d) {
  const int64_t switchable_units = d.units_total - d.units_prefix;
  std::map<std::string, std::string> vars = {
      {"FORMAT_VERSION", lit(static_cast<int64_t>(d.format_version))},
      {"C", lit(d.channels)},
      {"S", lit(d.image_size)},
      {"IMAGE_TOKEN", lit(d.image_token_index)},
      {"V", lit(d.vocab)},
      {"MAX_LEN", lit(d.max_length)},
      {"HD", lit(d.head_dim)},
      {"EPS", lit(d.rms_eps)},
      {"L", lit(d.layers)},
      {"NH", lit(d.heads)},
      {"NKV", lit(d.kv_heads)},
      {"MASK_MIN", lit(d.mask_min)},
      {"EOS", lit(d.eos_token_id)},
      {"D", lit(d.hidden)},
      {"NPRE", lit(d.prefix_layers)},
      {"NS", lit(d.layers - d.prefix_layers)},
      {"NS_PLUS_1", lit(switchable_units + 1)},
      {"R", lit(d.rank)},
      {"TOTAL", lit(d.units_total)},
      {"PREFIX", lit(d.units_prefix)},
  };
  // Sections first (they contain placeholders themselves), then the values.
  std::map<std::string, std::string> sections = {
      {"BUDGET_BODY", d.has_scheduler ? kBudgetAdaptive : kBudgetPlain},
      {"PROJECTOR", projector_source(d)},
      {"LATENCY_INSERT", d.has_scheduler ? kLatencyInsert : ""},
      {"SCHEDULE_AT_PREFIX", d.has_scheduler ? kScheduleAtPrefix : ""},
  };
  std::string src = render(kModelCommon, sections);
  if (d.has_scheduler)
    src += render(kScheduler, {{"SAMPLER", d.variant_h ? kSamplerH : kSamplerL}});
  src += dispatch_source(d);
  return render(src, vars);
}

}  // namespace adallava::exporter
