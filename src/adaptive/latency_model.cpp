#include "adaptive/latency_model.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <set>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "model/llava.h"
#include "model/loader.h"

namespace adallava::adaptive {

namespace {

constexpr const char* kFormat = "adallava-latency-model/1";

// Solves the small dense system A x = b in place (partial pivoting); false when singular.
bool solve(std::vector<std::vector<double>> a, std::vector<double> b, std::vector<double>& x) {
  const size_t n = b.size();
  for (size_t col = 0; col < n; ++col) {
    size_t pivot = col;
    for (size_t r = col + 1; r < n; ++r)
      if (std::abs(a[r][col]) > std::abs(a[pivot][col])) pivot = r;
    if (std::abs(a[pivot][col]) < 1e-300) return false;
    std::swap(a[col], a[pivot]);
    std::swap(b[col], b[pivot]);
    for (size_t r = col + 1; r < n; ++r) {
      const double f = a[r][col] / a[col][col];
      for (size_t c = col; c < n; ++c) a[r][c] -= f * a[col][c];
      b[r] -= f * b[col];
    }
  }
  x.assign(n, 0);
  for (size_t i = n; i-- > 0;) {
    double s = b[i];
    for (size_t c = i + 1; c < n; ++c) s -= a[i][c] * x[c];
    x[i] = s / a[i][i];
  }
  return true;
}

}  // namespace

double Polynomial::sum(double first, int64_t count) const {
  if (count <= 0) return 0;
  const double n = static_cast<double>(count);
  const double sum_x = n * first + n * (n - 1) / 2;
  const double sum_x2 = n * first * first + first * n * (n - 1) + (n - 1) * n * (2 * n - 1) / 6;
  return c[0] * n + c[1] * sum_x + c[2] * sum_x2;
}

Polynomial fit_polynomial(const std::vector<double>& x, const std::vector<double>& y, int degree) {
  if (x.size() != y.size() || x.empty()) fail("polynomial fit needs as many x as y, at least one");
  const int distinct = static_cast<int>(std::set<double>(x.begin(), x.end()).size());
  degree = std::max(0, std::min({degree, 2, distinct - 1}));
  // Normal equations on x scaled to about 1, so P^2 ~ 1e6 does not swamp the constant term.
  const double scale = std::max(1.0, *std::max_element(x.begin(), x.end()));
  const size_t n = static_cast<size_t>(degree) + 1;
  std::vector<std::vector<double>> ata(n, std::vector<double>(n, 0));
  std::vector<double> aty(n, 0);
  for (size_t i = 0; i < x.size(); ++i) {
    std::vector<double> row(n, 1);
    for (size_t d = 1; d < n; ++d) row[d] = row[d - 1] * (x[i] / scale);
    for (size_t r = 0; r < n; ++r) {
      aty[r] += row[r] * y[i];
      for (size_t c = 0; c < n; ++c) ata[r][c] += row[r] * row[c];
    }
  }
  std::vector<double> coef;
  if (!solve(ata, aty, coef)) fail("polynomial fit: singular system");
  Polynomial p;
  double s = 1;
  for (size_t d = 0; d < n; ++d) {
    p.c[d] = coef[d] / s;
    s *= scale;
  }
  return p;
}

// --- Prediction ----------------------------------------------------------------------------

namespace {

// Cost of one executed layer with `heads` active heads, given a part-selector (prefill/decode).
template <typename Eval>
double layer_cost(const LatencyModel& m, int heads, Eval eval) {
  const int64_t H = m.shape.num_heads;
  if (heads < 0) return 0;
  if (heads >= H) return std::max(0.0, eval(m.layer));
  const int64_t per_unit = std::max<int64_t>(1, H / std::max<int64_t>(1, m.shape.units_per_layer));
  const double units = static_cast<double>(heads) / static_cast<double>(per_unit);
  const double fixed = eval(m.layer_fixed), unit = eval(m.unit);
  // A profile without sliced terms (taken for L or plain LLaVA) prices a partial layer by its
  // share of heads, which is what its matmuls scale with.
  if (fixed == 0 && unit == 0)
    return std::max(0.0, eval(m.layer)) * static_cast<double>(heads) / static_cast<double>(H);
  return std::max(0.0, fixed + units * unit);
}

}  // namespace

double LatencyModel::prefill_ms(const std::vector<int>& active_heads,
                                int64_t prompt_positions) const {
  const double P = static_cast<double>(prompt_positions);
  auto eval = [P](const PartCost& part) { return part.prefill(P); };
  double ms = std::max(0.0, base.prefill(P));
  for (int heads : active_heads) ms += layer_cost(*this, heads, eval);
  return ms;
}

double LatencyModel::decode_ms(const std::vector<int>& active_heads, int64_t prompt_positions,
                               int64_t new_tokens) const {
  // Token 1 comes from the prefill's logits; tokens 2..n are steps at contexts P+1 .. P+n-1.
  const int64_t steps = new_tokens - 1;
  if (steps <= 0) return 0;
  const double first = static_cast<double>(prompt_positions + 1);
  auto eval = [&](const PartCost& part) { return part.decode.sum(first, steps); };
  double ms = std::max(0.0, eval(base));
  for (int heads : active_heads) ms += layer_cost(*this, heads, eval);
  return ms;
}

double LatencyModel::request_ms(const std::vector<int>& active_heads, int64_t prompt_positions,
                                int64_t new_tokens, int images) const {
  return images * image_ms + prefill_ms(active_heads, prompt_positions) +
         decode_ms(active_heads, prompt_positions, new_tokens);
}

std::vector<int> LatencyModel::worst_case_plan(int64_t k, const UnitSpec& spec) const {
  const int64_t L = spec.num_layers, pre = spec.num_prefix_layers;
  const int H = static_cast<int>(spec.num_heads);
  std::vector<int> plan(static_cast<size_t>(L), -1);
  for (int64_t i = 0; i < pre; ++i) plan[i] = H;
  const int64_t upl = spec.units_per_layer();
  const int64_t switchable_layers = L - pre;
  if (spec.variant == Variant::L || upl == 1) {
    for (int64_t i = 0; i < k && pre + i < L; ++i) plan[pre + i] = H;
    return plan;
  }
  // Round-robin: every layer gets a unit before any gets a second one.
  std::vector<int64_t> units(static_cast<size_t>(switchable_layers), 0);
  for (int64_t i = 0; i < k; ++i) ++units[i % switchable_layers];
  const int r = static_cast<int>(spec.scheduler_rank);
  for (int64_t i = 0; i < switchable_layers; ++i)
    plan[pre + i] = units[i] == 0 ? -1 : static_cast<int>(units[i]) * r;
  return plan;
}

void LatencyModel::check_applies_to(const ProfiledModel& m, const std::string& what) const {
  auto mismatch = [&](const char* field, const std::string& have, const std::string& want) {
    fail(
        "{}: latency profile measured with {} = {}, but {} has {} (recalibrate with adallava "
        "calibrate)",
        source, field, have, what, want);
  };
  if (shape.num_layers != m.num_layers)
    mismatch("num_layers", std::to_string(shape.num_layers), std::to_string(m.num_layers));
  if (shape.hidden_size != m.hidden_size)
    mismatch("hidden_size", std::to_string(shape.hidden_size), std::to_string(m.hidden_size));
  if (shape.num_heads != m.num_heads)
    mismatch("num_heads", std::to_string(shape.num_heads), std::to_string(m.num_heads));
  if (shape.intermediate_size != m.intermediate_size)
    mismatch("intermediate_size", std::to_string(shape.intermediate_size),
             std::to_string(m.intermediate_size));
  if (shape.units_per_layer != m.units_per_layer)
    mismatch("units_per_layer", std::to_string(shape.units_per_layer),
             std::to_string(m.units_per_layer));
  if (shape.dtype != m.dtype) mismatch("dtype", shape.dtype, m.dtype);
}

// --- JSON ------------------------------------------------------------------------------------

namespace {

nlohmann::json part_json(const PartCost& p) {
  return {{"prefill_ms", {p.prefill.c[0], p.prefill.c[1], p.prefill.c[2]}},
          {"decode_ms_per_token", {p.decode.c[0], p.decode.c[1]}}};
}

const nlohmann::json& field(const nlohmann::json& j, const std::string& key,
                            const std::string& where, const std::string& source) {
  if (!j.is_object()) fail("{}: '{}' must be an object", source, where);
  if (!j.contains(key)) fail("{}: missing '{}{}'", source, where.empty() ? "" : where + ".", key);
  return j.at(key);
}

double number(const nlohmann::json& v, const std::string& name, const std::string& source) {
  if (!v.is_number()) fail("{}: '{}' must be a number, got {}", source, name, v.dump());
  const double x = v.get<double>();
  if (!std::isfinite(x)) fail("{}: '{}' must be finite", source, name);
  return x;
}

int64_t positive_int(const nlohmann::json& v, const std::string& name, const std::string& source) {
  if (!v.is_number_integer() || v.get<int64_t>() <= 0)
    fail("{}: '{}' must be a positive integer, got {}", source, name, v.dump());
  return v.get<int64_t>();
}

Polynomial coefficients(const nlohmann::json& v, size_t count, const std::string& name,
                        const std::string& source) {
  if (!v.is_array() || v.size() != count)
    fail("{}: '{}' must be an array of {} numbers, got {}", source, name, count, v.dump());
  Polynomial p;
  for (size_t i = 0; i < count; ++i) p.c[i] = number(v[i], fmt::format("{}[{}]", name, i), source);
  return p;
}

PartCost part_from_json(const nlohmann::json& parts, const std::string& key,
                        const std::string& source) {
  const auto& j = field(parts, key, "parts", source);
  const std::string where = "parts." + key;
  PartCost p;
  p.prefill = coefficients(field(j, "prefill_ms", where, source), 3, where + ".prefill_ms", source);
  p.decode = coefficients(field(j, "decode_ms_per_token", where, source), 2,
                          where + ".decode_ms_per_token", source);
  return p;
}

}  // namespace

nlohmann::json to_json(const LatencyModel& m) {
  return {{"format", kFormat},
          {"model",
           {{"num_layers", m.shape.num_layers},
            {"hidden_size", m.shape.hidden_size},
            {"num_heads", m.shape.num_heads},
            {"intermediate_size", m.shape.intermediate_size},
            {"units_per_layer", m.shape.units_per_layer},
            {"dtype", m.shape.dtype}}},
          {"threads", m.threads},
          {"image_ms", m.image_ms},
          {"parts",
           {{"base", part_json(m.base)},
            {"layer", part_json(m.layer)},
            {"layer_fixed", part_json(m.layer_fixed)},
            {"unit", part_json(m.unit)}}}};
}

LatencyModel latency_model_from_json(const nlohmann::json& j, const std::string& source) {
  if (!j.is_object()) fail("{}: a latency model must be a JSON object", source);
  const auto& format = field(j, "format", "", source);
  if (!format.is_string() || format.get<std::string>() != kFormat)
    fail("{}: 'format' must be \"{}\", got {}", source, kFormat, format.dump());
  LatencyModel m;
  m.source = source;
  const auto& shape = field(j, "model", "", source);
  m.shape.num_layers =
      positive_int(field(shape, "num_layers", "model", source), "model.num_layers", source);
  m.shape.hidden_size =
      positive_int(field(shape, "hidden_size", "model", source), "model.hidden_size", source);
  m.shape.num_heads =
      positive_int(field(shape, "num_heads", "model", source), "model.num_heads", source);
  m.shape.intermediate_size = positive_int(field(shape, "intermediate_size", "model", source),
                                           "model.intermediate_size", source);
  m.shape.units_per_layer = positive_int(field(shape, "units_per_layer", "model", source),
                                         "model.units_per_layer", source);
  const auto& dtype = field(shape, "dtype", "model", source);
  if (!dtype.is_string() || (dtype != "fp32" && dtype != "bf16" && dtype != "fp16"))
    fail("{}: 'model.dtype' must be \"fp32\", \"bf16\" or \"fp16\", got {}", source, dtype.dump());
  m.shape.dtype = dtype.get<std::string>();
  if (j.contains("threads")) {
    const auto& t = j.at("threads");
    if (!t.is_number_integer() || t.get<int>() < 0)
      fail("{}: 'threads' must be a non-negative integer, got {}", source, t.dump());
    m.threads = t.get<int>();
  }
  m.image_ms = j.contains("image_ms") ? number(j.at("image_ms"), "image_ms", source) : 0;
  if (m.image_ms < 0) fail("{}: 'image_ms' must be >= 0", source);
  const auto& parts = field(j, "parts", "", source);
  m.base = part_from_json(parts, "base", source);
  m.layer = part_from_json(parts, "layer", source);
  m.layer_fixed = part_from_json(parts, "layer_fixed", source);
  m.unit = part_from_json(parts, "unit", source);
  return m;
}

LatencyModel load_latency_model(const std::string& path) {
  std::ifstream f(path);
  if (!f) fail("{}: cannot open latency model", path);
  nlohmann::json j;
  try {
    f >> j;
  } catch (const nlohmann::json::exception& e) {
    fail("{}: not valid JSON ({})", path, e.what());
  }
  return latency_model_from_json(j, path);
}

void save_latency_model(const LatencyModel& m, const std::string& path) {
  std::ofstream f(path);
  if (!f) fail("{}: cannot open for writing", path);
  f << to_json(m).dump(2) << "\n";
  if (!f) fail("{}: write failed", path);
}

// --- Calibration -----------------------------------------------------------------------------

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// An H layer plan running `units` of the layer's units (the first ones: cost does not depend
// on which).
model::LayerUnits sliced_units(int64_t units, int64_t rank) {
  model::LayerUnits u;
  std::vector<int64_t> active;
  for (int64_t i = 0; i < units * rank; ++i) active.push_back(i);
  u.heads = active;
  u.groups = active;
  return u;
}

struct LayerTimes {
  double prefill_ms = 1e300, decode_ms = 1e300;
};

// One decoder layer (index `layer`) run as `units` says: a prefill of P positions from an
// empty cache (including slicing its weights, as every new plan does), then single-token steps
// at context P + 1 against that cache (the step is repeated in place: the cache does not grow).
LayerTimes time_layer(model::LlavaForCausalLMImpl& m, int layer, const model::LayerUnits* units,
                      const torch::Tensor& x, int64_t P, const CalibrationOptions& o) {
  const int L = m.config.text.num_layers;
  LayerTimes t;
  auto positions = torch::arange(P, torch::kInt64).view({1, P});
  auto key_valid = torch::ones({1, P + 1}, torch::kBool);
  auto step_x = x.slice(1, P - 1, P).contiguous();
  auto step_pos = torch::full({1, 1}, P, torch::kInt64);
  for (int rep = 0; rep < o.repeats; ++rep) {
    std::vector<model::LayerUnits> plan(static_cast<size_t>(L));
    if (units) {
      plan[layer] = *units;
      plan[layer].sliced.reset();  // a fresh plan slices its weights again
    }
    model::KVCache cache;
    cache.reset(L, P + 1);
    auto ctx = m.step_context(key_valid.slice(1, 0, P), positions, &cache, x.scalar_type());
    auto t0 = Clock::now();
    m.run_layers(x, ctx, &cache, layer, layer + 1, &plan);
    t.prefill_ms = std::min(t.prefill_ms, ms_since(t0));
    cache.length = P;
    auto step_ctx = m.step_context(key_valid, step_pos, &cache, x.scalar_type());
    for (int s = 0; s < o.decode_steps; ++s) {
      t0 = Clock::now();
      m.run_layers(step_x, step_ctx, &cache, layer, layer + 1, &plan);
      t.decode_ms = std::min(t.decode_ms, ms_since(t0));
    }
  }
  return t;
}

// Everything outside the decoder layers, for a prompt of P positions and for one step.
LayerTimes time_base(model::LlavaForCausalLMImpl& m, int64_t P, const CalibrationOptions& o) {
  const auto& t = m.config.text;
  LayerTimes out;
  auto ids = torch::randint(3, t.vocab_size, {1, P}, torch::kInt64);
  std::vector<int64_t> id_list(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + P);
  const auto dtype = m.lm_head->weight.scalar_type();
  auto positions = torch::arange(P, torch::kInt64).view({1, P});
  auto key_valid = torch::ones({1, P + 1}, torch::kBool);
  auto* scheduler = m.plan_scheduler.get();
  for (int rep = 0; rep < o.repeats; ++rep) {
    model::KVCache cache;
    cache.reset(t.num_layers, P + 1);
    auto t0 = Clock::now();
    auto inputs = m.prepare_inputs({{id_list, {}}}, {}, model::PaddingSide::Left);
    auto ctx = m.step_context(key_valid.slice(1, 0, P), positions, &cache, dtype);
    if (scheduler) {
      auto token = scheduler->latency_tokens({1.0});
      scheduler->plans(token.to(dtype), {1.0});
    }
    auto logits = m.logits(m.model->norm(inputs.embeds.select(1, P - 1)));
    logits.argmax(-1);
    out.prefill_ms = std::min(out.prefill_ms, ms_since(t0));
    cache.length = P;
    for (int s = 0; s < o.decode_steps; ++s) {
      t0 = Clock::now();
      auto next = logits.argmax(-1).view({1, 1});
      auto embeds = torch::embedding(m.model->embed_tokens->weight, next);
      auto step_ctx =
          m.step_context(key_valid, torch::full({1, 1}, P, torch::kInt64), &cache, dtype);
      logits = m.logits(m.model->norm(embeds.select(1, 0)));
      out.decode_ms = std::min(out.decode_ms, ms_since(t0));
    }
  }
  return out;
}

}  // namespace

int64_t profiled_units_per_layer(const UnitSpec* spec) {
  return spec && spec->variant == Variant::H ? spec->units_per_layer() : 1;
}

ProfiledModel profiled_shape(const model::LlavaForCausalLMImpl& m, int64_t units_per_layer) {
  ProfiledModel s;
  const auto& t = m.config.text;
  s.num_layers = t.num_layers;
  s.hidden_size = t.hidden_size;
  s.num_heads = t.num_heads;
  s.intermediate_size = t.intermediate_size;
  s.units_per_layer = units_per_layer;
  s.dtype = model::compute_dtype_name(m.lm_head->weight.scalar_type());
  return s;
}

LatencyModel calibrate(model::LlavaForCausalLMImpl& m, const UnitSpec* spec,
                       const CalibrationOptions& o) {
  if (o.prompt_lengths.empty()) fail("calibration needs at least one prompt length");
  if (o.repeats < 1 || o.decode_steps < 1) fail("calibration needs repeats and steps >= 1");
  torch::NoGradGuard no_grad;
  const int64_t upl = profiled_units_per_layer(spec);
  const bool sliced = upl > 1;
  LatencyModel out;
  out.shape = profiled_shape(m, upl);
  out.threads = at::get_num_threads();
  out.source = "calibration";
  const auto dtype = m.lm_head->weight.scalar_type();
  const int64_t D = m.config.text.hidden_size;
  const int layer = spec ? static_cast<int>(std::min<int64_t>(spec->num_prefix_layers,
                                                              m.config.text.num_layers - 1))
                         : 0;
  torch::manual_seed(static_cast<int64_t>(o.seed));

  {
    // Untimed warm-up: thread-pool start, first allocations, lazily built kernels.
    const int64_t P = std::max<int64_t>(1, o.prompt_lengths.front());
    CalibrationOptions once = o;
    once.repeats = 1;
    once.decode_steps = 1;
    time_base(m, P, once);
    time_layer(m, layer, nullptr, (torch::randn({1, P, D}) * 0.02).to(dtype), P, once);
  }
  std::vector<double> xs;
  std::vector<double> base_p, base_d, layer_p, layer_d, fixed_p, fixed_d, unit_p, unit_d;
  for (int64_t P : o.prompt_lengths) {
    if (P < 1) fail("calibration prompt length must be >= 1, got {}", P);
    auto x = (torch::randn({1, P, D}) * 0.02).to(dtype);
    xs.push_back(static_cast<double>(P));
    const auto base = time_base(m, P, o);
    base_p.push_back(base.prefill_ms);
    base_d.push_back(base.decode_ms);
    const auto full = time_layer(m, layer, nullptr, x, P, o);
    layer_p.push_back(full.prefill_ms);
    layer_d.push_back(full.decode_ms);
    if (sliced) {
      // Two sliced sizes give the per-unit slope and the fixed part by a line through them.
      const int64_t u1 = 1, u2 = upl - 1 > 1 ? upl - 1 : 1;
      auto one = sliced_units(u1, spec->scheduler_rank);
      const auto t1 = time_layer(m, layer, &one, x, P, o);
      LayerTimes t2 = t1;
      if (u2 != u1) {
        auto many = sliced_units(u2, spec->scheduler_rank);
        t2 = time_layer(m, layer, &many, x, P, o);
      }
      const double du = static_cast<double>(u2 - u1);
      // With one sliced size (2 units per layer) the fixed part is taken as the rest of a full
      // layer: full = fixed + upl * unit.
      const double slope_p = du > 0 ? (t2.prefill_ms - t1.prefill_ms) / du
                                    : (full.prefill_ms - t1.prefill_ms) / double(upl - u1);
      const double slope_d = du > 0 ? (t2.decode_ms - t1.decode_ms) / du
                                    : (full.decode_ms - t1.decode_ms) / double(upl - u1);
      unit_p.push_back(slope_p);
      unit_d.push_back(slope_d);
      fixed_p.push_back(t1.prefill_ms - u1 * slope_p);
      fixed_d.push_back(t1.decode_ms - u1 * slope_d);
    }
  }
  // Decode contexts are P + 1.
  std::vector<double> ctx;
  for (double P : xs) ctx.push_back(P + 1);
  out.base = {fit_polynomial(xs, base_p, 2), fit_polynomial(ctx, base_d, 1)};
  out.layer = {fit_polynomial(xs, layer_p, 2), fit_polynomial(ctx, layer_d, 1)};
  if (sliced) {
    out.layer_fixed = {fit_polynomial(xs, fixed_p, 2), fit_polynomial(ctx, fixed_d, 1)};
    out.unit = {fit_polynomial(xs, unit_p, 2), fit_polynomial(ctx, unit_d, 1)};
  }
  if (o.vision) {
    const auto& v = m.vision_config;
    auto pixels = torch::randn({1, v.num_channels, v.image_size, v.image_size});
    double best = 1e300;
    for (int rep = 0; rep < o.repeats; ++rep) {
      const auto t0 = Clock::now();
      m.encode_images(pixels);
      best = std::min(best, ms_since(t0));
    }
    out.image_ms = best;
  }
  return out;
}

}  // namespace adallava::adaptive
