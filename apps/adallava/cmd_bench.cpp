// adallava bench: how fast the LLaVA-1.5 stages run on this CPU, next to what the machine can
// do at best (matmul peak, memory bandwidth), on randomly initialised weights.
#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <sstream>

#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "adaptive/budget.h"
#include "bench_adaptive.h"
#include "bench_counts.h"
#include "command.h"
#include "common/error.h"
#include "model/compute_env.h"
#include "model/llava.h"
#include "model/loader.h"

namespace adallava::cli {
namespace {

struct BenchArgs {
  std::vector<std::string> dtypes = {"fp32", "bf16"};
  int repeats = 5;
  int llm_layers = 4;
  int prompt_tokens = 640;
  int decode_tokens = 32;
  int matmul_size = 2048;
  double bandwidth_gib = 1.0;
  std::string vision = "full";
  std::string out;
  bool json = false;
  // AdaLLaVA modes (bench_adaptive.h): savings against the budget, or the deadline experiment.
  std::vector<std::string> adaptive;  // variants: L, H
  std::vector<double> budgets = {0.5, 0.625, 0.75, 0.875, 1.0};
  int prefix_layers = 4;
  int scheduler_rank = 8;
  bool deadline = false;
  bench::DeadlineBenchArgs deadline_args;
  std::vector<std::string> deadline_modes = {"corrected", "fixed"};
};

struct Timing {
  double median_ms = 0, min_ms = 0;
};

// Median and minimum: the median is what a user sees on a busy machine, the minimum is the
// closest to what the hardware can do.
Timing summarise(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  const size_t n = ms.size();
  return {n % 2 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]), ms.front()};
}

Timing time_repeats(int repeats, const std::function<void()>& run) {
  std::vector<double> ms;
  for (int i = 0; i < repeats; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    run();
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  return summarise(ms);
}

struct Row {
  Row(std::string dtype_, std::string stage_, Timing time_, std::string time_unit_)
      : dtype(std::move(dtype_)),
        stage(std::move(stage_)),
        time(time_),
        time_unit(std::move(time_unit_)) {}
  std::string dtype, stage;
  Timing time;
  std::string time_unit;  // what one timed unit is ("run", "image", "token")
  double throughput = 0;  // per second, at the median
  std::string throughput_unit;
  double achieved = 0;  // GFLOP/s or GB/s at the median
  std::string achieved_unit;
  double fraction_of_limit = -1;  // < 0: this row is a limit itself
  std::string limit_name;
};

model::VisionConfig vision_config(const std::string& which) {
  model::VisionConfig v;  // defaults: CLIP ViT-L/14-336
  if (which == "full") return v;
  if (which != "tiny") fail("--vision {}: expected full or tiny", which);
  v.hidden_size = 256;
  v.intermediate_size = 1024;
  v.num_layers = 4;
  v.num_heads = 4;
  v.image_size = 224;
  return v;
}

Row measure_matmul(c10::ScalarType dtype, int n, int repeats) {
  torch::NoGradGuard no_grad;
  auto a = torch::randn({n, n}).to(dtype);
  auto b = torch::randn({n, n}).to(dtype);
  auto c = torch::mm(a, b);  // warm-up: kernel selection and first touch of the output
  auto t = time_repeats(repeats, [&] { torch::mm_out(c, a, b); });
  const double gflop = 2.0 * n * n * static_cast<double>(n) / 1e9;
  Row r{std::string(model::compute_dtype_name(dtype)), fmt::format("machine: matmul {0}x{0}", n), t,
        "run"};
  r.achieved = gflop / (t.median_ms / 1e3);
  r.achieved_unit = "GFLOP/s";
  r.limit_name = "matmul peak";
  return r;
}

// Reading (sum) is the limit for decode, which only streams weights; copying also writes.
std::vector<Row> measure_bandwidth(double gib, int repeats) {
  torch::NoGradGuard no_grad;
  const int64_t elements = static_cast<int64_t>(gib * (1LL << 30) / sizeof(float));
  const double bytes = static_cast<double>(elements) * sizeof(float);
  auto src = torch::ones({elements});
  auto dst = torch::empty_like(src);
  dst.copy_(src);
  volatile float sink = src.sum().item<float>();
  auto t_sum = time_repeats(repeats, [&] { sink = src.sum().item<float>(); });
  auto t_copy = time_repeats(repeats, [&] { dst.copy_(src); });
  (void)sink;
  Row read{"-", fmt::format("machine: sum of {:g} GiB fp32 (read)", gib), t_sum, "run"};
  read.achieved = bytes / (t_sum.median_ms / 1e3) / 1e9;
  read.achieved_unit = "GB/s";
  read.limit_name = "read bandwidth";
  Row copy{"-", fmt::format("machine: copy of {:g} GiB fp32 (read+write)", gib), t_copy, "run"};
  copy.achieved = 2.0 * bytes / (t_copy.median_ms / 1e3) / 1e9;
  copy.achieved_unit = "GB/s";
  copy.limit_name = "copy bandwidth";
  return {read, copy};
}

model::LlavaForCausalLM build_model(const BenchArgs& a, c10::ScalarType dtype) {
  model::LlavaConfig cfg;  // LlamaConfig defaults are the LLaVA-1.5-7B dimensions
  cfg.text.num_layers = a.llm_layers;
  cfg.text.max_position_embeddings = std::max(4096, a.prompt_tokens + a.decode_tokens);
  const auto vision = vision_config(a.vision);
  cfg.mm_hidden_size = vision.hidden_size;
  cfg.config_path = "<bench>";
  torch::manual_seed(0);
  const auto t0 = std::chrono::steady_clock::now();
  model::LlavaForCausalLM m(cfg, vision);
  if (dtype != torch::kFloat32) m->to(dtype);
  m->eval();
  spdlog::info("[bench] built {} model ({} LLM layers, {} vision) in {:.1f} s",
               std::string(model::compute_dtype_name(dtype)), a.llm_layers, a.vision,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return m;
}

int layers_run_for_features(const model::LlavaConfig& cfg, const model::VisionConfig& v) {
  const int sel = cfg.vision_select_layer;
  return sel < 0 ? v.num_layers + 1 + sel : sel;
}

std::vector<Row> measure_model(const BenchArgs& a, c10::ScalarType dtype, double matmul_peak,
                               double read_bandwidth) {
  torch::NoGradGuard no_grad;
  auto m = build_model(a, dtype);
  const auto& v = m->vision_config;
  const auto& t = m->config.text;
  const std::string name = std::string(model::compute_dtype_name(dtype));
  const double elem_bytes = dtype == torch::kBFloat16 ? 2.0 : 4.0;
  std::vector<Row> rows;

  // Image encode: tower (up to the selected layer) + projector, one image per call.
  {
    auto pixels = torch::randn({1, v.num_channels, v.image_size, v.image_size});
    const int layers_run = layers_run_for_features(m->config, v);
    const double flops = bench::clip_feature_flops(v, layers_run, t.hidden_size);
    auto tm = time_repeats(a.repeats, [&] { m->encode_images(pixels); });
    Row r{name,
          fmt::format("image encode: CLIP {}px, {} of {} layers + projector", v.image_size,
                      layers_run, v.num_layers),
          tm, "image"};
    r.throughput = 1e3 / tm.median_ms;
    r.throughput_unit = "images/s";
    r.achieved = flops / (tm.median_ms / 1e3) / 1e9;
    r.achieved_unit = "GFLOP/s";
    r.fraction_of_limit = r.achieved / matmul_peak;
    r.limit_name = "matmul peak";
    rows.push_back(r);
    spdlog::info("[bench] {} image encode {:.0f} ms (min {:.0f})", name, tm.median_ms, tm.min_ms);
  }

  // Prefill and decode of one sequence: a prompt of random token ids, then greedy steps.
  const int64_t T = a.prompt_tokens;
  auto ids = torch::randint(3, t.vocab_size, {1, T}, torch::kInt64);
  auto position_ids = torch::arange(T, torch::kInt64).view({1, T});
  const auto& embed_weight = m->model->embed_tokens->weight;
  std::vector<double> prefill_ms, decode_ms;
  for (int rep = 0; rep < a.repeats; ++rep) {
    model::KVCache cache;
    cache.reset(t.num_layers, T + a.decode_tokens);
    auto key_valid = torch::ones({1, T + a.decode_tokens}, torch::kBool);
    const auto t0 = std::chrono::steady_clock::now();
    auto embeds = torch::embedding(embed_weight, ids);
    auto hidden = m->decode(embeds, key_valid.slice(1, 0, T), position_ids, &cache);
    auto last_logits = m->logits(hidden.select(1, T - 1));
    const auto t1 = std::chrono::steady_clock::now();
    for (int step = 0; step < a.decode_tokens; ++step) {
      auto next = last_logits.argmax(-1).view({1, 1});
      auto step_pos = torch::full({1, 1}, cache.length, torch::kInt64);
      hidden = m->decode(torch::embedding(embed_weight, next),
                         key_valid.slice(1, 0, cache.length + 1), step_pos, &cache);
      last_logits = m->logits(hidden.select(1, 0));
    }
    const auto t2 = std::chrono::steady_clock::now();
    prefill_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    decode_ms.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
    spdlog::info("[bench] {} repeat {}: prefill {:.0f} ms, decode {:.0f} ms", name, rep + 1,
                 prefill_ms.back(), decode_ms.back());
  }
  {
    auto tm = summarise(prefill_ms);
    Row r{name, fmt::format("prefill: {} tokens, {} LLM layers (7B dims)", T, t.num_layers), tm,
          "run"};
    r.throughput = T / (tm.median_ms / 1e3);
    r.throughput_unit = "tokens/s";
    r.achieved = bench::llama_prefill_flops(t, T) / (tm.median_ms / 1e3) / 1e9;
    r.achieved_unit = "GFLOP/s";
    r.fraction_of_limit = r.achieved / matmul_peak;
    r.limit_name = "matmul peak";
    rows.push_back(r);
  }
  if (a.decode_tokens > 0) {
    auto tm = summarise(decode_ms);
    double bytes = 0;
    for (int step = 0; step < a.decode_tokens; ++step)
      bytes += bench::llama_decode_step_bytes(t, T + step + 1, elem_bytes);
    Timing per_token{tm.median_ms / a.decode_tokens, tm.min_ms / a.decode_tokens};
    Row r{name,
          fmt::format("decode: {} tokens after the prompt, {} LLM layers", a.decode_tokens,
                      t.num_layers),
          per_token, "token"};
    r.throughput = 1e3 / per_token.median_ms;
    r.throughput_unit = "tokens/s";
    r.achieved = bytes / (tm.median_ms / 1e3) / 1e9;
    r.achieved_unit = "GB/s";
    r.fraction_of_limit = r.achieved / read_bandwidth;
    r.limit_name = "read bandwidth";
    rows.push_back(r);
  }
  return rows;  // the model is freed here, before the next dtype is built
}

std::string format_time(const Row& r) {
  auto f = [](double ms) {
    return ms >= 1e4 ? fmt::format("{:.1f} s", ms / 1e3) : fmt::format("{:.1f} ms", ms);
  };
  return fmt::format("{} (min {}) /{}", f(r.time.median_ms), f(r.time.min_ms), r.time_unit);
}

std::string markdown(const std::vector<Row>& rows, const BenchArgs& a) {
  std::ostringstream os;
  os << fmt::format(
      "Threads: {} | BLAS: {} | repeats: {} (median, min shown)\n\n", at::get_num_threads(),
      loaded_blas_library().empty() ? "(none found)" : loaded_blas_library(), a.repeats);
  os << "| dtype | stage | time (median, min) | throughput | achieved | % of machine limit |\n";
  os << "|---|---|---|---|---|---|\n";
  for (const auto& r : rows) {
    const std::string throughput =
        r.throughput_unit.empty() ? "" : fmt::format("{:.2f} {}", r.throughput, r.throughput_unit);
    const std::string pct =
        r.fraction_of_limit < 0
            ? fmt::format("(limit: {})", r.limit_name)
            : fmt::format("{:.0f}% of {}", 100.0 * r.fraction_of_limit, r.limit_name);
    os << fmt::format("| {} | {} | {} | {} | {:.1f} {} | {} |\n", r.dtype, r.stage, format_time(r),
                      throughput, r.achieved, r.achieved_unit, pct);
  }
  return os.str();
}

nlohmann::json to_json(const std::vector<Row>& rows, const BenchArgs& a) {
  nlohmann::json out = {{"threads", at::get_num_threads()},
                        {"blas", loaded_blas_library()},
                        {"repeats", a.repeats},
                        {"llm_layers", a.llm_layers},
                        {"prompt_tokens", a.prompt_tokens},
                        {"decode_tokens", a.decode_tokens},
                        {"vision", a.vision},
                        {"rows", nlohmann::json::array()}};
  for (const auto& r : rows) {
    nlohmann::json j = {{"dtype", r.dtype},
                        {"stage", r.stage},
                        {"median_ms", r.time.median_ms},
                        {"min_ms", r.time.min_ms},
                        {"per", r.time_unit},
                        {"achieved", r.achieved},
                        {"achieved_unit", r.achieved_unit},
                        {"limit", r.limit_name}};
    if (!r.throughput_unit.empty())
      j["throughput"] = {{"value", r.throughput}, {"unit", r.throughput_unit}};
    if (r.fraction_of_limit >= 0) j["fraction_of_limit"] = r.fraction_of_limit;
    out["rows"].push_back(j);
  }
  return out;
}

bench::AdaptiveModelArgs adaptive_model_args(const BenchArgs& a) {
  bench::AdaptiveModelArgs m;
  m.llm_layers = a.llm_layers;
  m.prefix_layers = a.prefix_layers;
  m.scheduler_rank = a.scheduler_rank;
  m.prompt_tokens = a.prompt_tokens;
  m.decode_tokens = a.decode_tokens;
  return m;
}

void write_text(const std::string& path, const std::string& text) {
  if (path.empty()) return;
  std::ofstream f(path);
  if (!f) fail("{}: cannot open for writing", path);
  f << text;
  if (!f) fail("{}: write failed", path);
}

int run_deadline_bench(BenchArgs a) {
  auto& d = a.deadline_args;
  d.model = adaptive_model_args(a);
  d.variant = adaptive::parse_variant(a.adaptive.empty() ? "L" : a.adaptive.front());
  d.dtype = model::parse_compute_dtype(a.dtypes.front(), "--dtypes");
  d.modes = a.deadline_modes;
  std::string table;
  const auto j = bench::run_deadline_experiment(d, table);
  if (a.json)
    std::cout << j.dump(2) << std::endl;
  else
    std::cout << table;
  write_text(a.out, table);
  // Every record, beside the Markdown (stdout also carries the progress log).
  if (!a.out.empty()) write_text(a.out + ".json", j.dump(2) + "\n");
  return 0;
}

// Machine limits first (same as the stage bench), then time against budget per dtype/variant.
int run_savings_bench(const BenchArgs& a) {
  std::vector<c10::ScalarType> dtypes;
  for (const auto& d : a.dtypes) dtypes.push_back(model::parse_compute_dtype(d, "--dtypes"));
  std::vector<adaptive::Variant> variants;
  for (const auto& v : a.adaptive) variants.push_back(adaptive::parse_variant(v));
  const auto margs = adaptive_model_args(a);
  for (auto v : variants) bench::adaptive_spec(margs, v);  // reject bad layer counts early
  std::vector<Row> limits;
  for (auto d : dtypes) limits.push_back(measure_matmul(d, a.matmul_size, a.repeats));
  for (auto& r : measure_bandwidth(a.bandwidth_gib, a.repeats)) limits.push_back(r);
  std::vector<bench::SavingsRow> rows;
  for (auto d : dtypes)
    for (auto v : variants)
      for (auto& r : bench::measure_savings(margs, v, d, a.budgets, a.repeats)) rows.push_back(r);
  const std::string table =
      markdown(limits, a) + "\n" +
      fmt::format(
          "AdaLLaVA LLM: {} layers of 7B dims ({} prefix, H rank {}), prompt {} tokens "
          "(text positions standing in for 576 image features + question), {} new "
          "tokens; medians of {} repeats\n\n",
          a.llm_layers, a.prefix_layers, a.scheduler_rank, a.prompt_tokens, a.decode_tokens,
          a.repeats) +
      bench::savings_markdown(rows);
  if (a.json) {
    auto j = to_json(limits, a);
    j["adaptive"] = bench::savings_json(rows);
    j["prefix_layers"] = a.prefix_layers;
    j["scheduler_rank"] = a.scheduler_rank;
    std::cout << j.dump(2) << std::endl;
  } else {
    std::cout << table;
  }
  write_text(a.out, table);
  return 0;
}

int run_bench(const BenchArgs& a, const GlobalOptions& global) {
  configure_compute(global.threads);
  if (a.deadline) return run_deadline_bench(a);
  if (!a.adaptive.empty()) return run_savings_bench(a);
  std::vector<c10::ScalarType> dtypes;
  for (const auto& d : a.dtypes) dtypes.push_back(model::parse_compute_dtype(d, "--dtypes"));
  vision_config(a.vision);  // reject a bad --vision before the slow part

  std::vector<Row> rows;
  std::map<c10::ScalarType, double> peak;
  for (auto d : dtypes) {
    rows.push_back(measure_matmul(d, a.matmul_size, a.repeats));
    peak[d] = rows.back().achieved;
    spdlog::info("[bench] {} matmul peak {:.1f} GFLOP/s", std::string(model::compute_dtype_name(d)),
                 peak[d]);
  }
  const auto bandwidth_rows = measure_bandwidth(a.bandwidth_gib, a.repeats);
  rows.insert(rows.end(), bandwidth_rows.begin(), bandwidth_rows.end());
  const double read_bandwidth = bandwidth_rows.front().achieved;
  spdlog::info("[bench] read bandwidth {:.1f} GB/s", read_bandwidth);
  for (auto d : dtypes)
    for (auto& r : measure_model(a, d, peak[d], read_bandwidth)) rows.push_back(r);

  const std::string table = markdown(rows, a);
  if (a.json)
    std::cout << to_json(rows, a).dump(2) << std::endl;
  else
    std::cout << table;
  if (!a.out.empty()) {
    std::ofstream f(a.out);
    if (!f) fail("{}: cannot open for writing", a.out);
    f << table;
    if (!f) fail("{}: write failed", a.out);
  }
  return 0;
}

const RegisterCommand kRegister{
    "bench", "Time image encode, prefill and decode on random weights against machine limits", 90,
    [](CLI::App& app, const GlobalOptions& global) -> std::function<int()> {
      auto args = std::make_shared<BenchArgs>();
      app.add_option("--dtypes", args->dtypes, "Comma-separated: fp32, bf16")
          ->delimiter(',')
          ->capture_default_str();
      app.add_option("--repeats", args->repeats, "Timed runs per stage (median and min reported)")
          ->capture_default_str()
          ->check(CLI::PositiveNumber);
      auto* layers_opt =
          app.add_option("--llm-layers", args->llm_layers,
                         "Decoder layers of the 7B-sized LLM (adaptive modes: default 8)")
              ->capture_default_str()
              ->check(CLI::PositiveNumber);
      app.add_option("--prompt-tokens", args->prompt_tokens, "Prefill length")
          ->capture_default_str()
          ->check(CLI::PositiveNumber);
      auto* decode_opt =
          app.add_option("--decode-tokens", args->decode_tokens,
                         "Greedy steps after the prefill (adaptive modes: default 8)")
              ->capture_default_str()
              ->check(CLI::NonNegativeNumber);
      app.add_option("--matmul-size", args->matmul_size, "N of the NxN matmul peak test")
          ->capture_default_str()
          ->check(CLI::PositiveNumber);
      app.add_option("--bandwidth-gib", args->bandwidth_gib, "Buffer size of the bandwidth test")
          ->capture_default_str()
          ->check(CLI::PositiveNumber);
      app.add_option("--vision", args->vision, "full (CLIP ViT-L/14-336) or tiny")
          ->capture_default_str()
          ->check(CLI::IsMember({"full", "tiny"}));
      app.add_option("--out", args->out, "Also write the Markdown table to this file");
      app.add_flag("--json", args->json, "Print JSON instead of the Markdown table");

      app.add_option("--adaptive", args->adaptive,
                     "AdaLLaVA savings mode: time against budget for these variants (L,H)")
          ->delimiter(',')
          ->check(CLI::IsMember({"L", "H"}));
      app.add_option("--budgets", args->budgets, "Budgets of the savings mode (1.0 always added)")
          ->delimiter(',')
          ->capture_default_str();
      app.add_option("--prefix-layers", args->prefix_layers, "AdaLLaVA num_prefix_layers")
          ->capture_default_str()
          ->check(CLI::NonNegativeNumber);
      app.add_option("--scheduler-rank", args->scheduler_rank, "AdaLLaVA-H scheduler_rank")
          ->capture_default_str()
          ->check(CLI::PositiveNumber);
      auto& d = args->deadline_args;
      app.add_flag("--deadline", args->deadline,
                   "Deadline experiment (first of --adaptive, default L; first of --dtypes)");
      app.add_option("--requests", d.requests, "Deadline mode: requests per run")
          ->capture_default_str()
          ->check(CLI::PositiveNumber);
      app.add_option("--deadline-ms", d.deadline_ms,
                     "Deadline mode: deadline (0 = idle time at --reference-budget x (1+margin))")
          ->capture_default_str()
          ->check(CLI::NonNegativeNumber);
      app.add_option("--reference-budget", d.reference_budget,
                     "Deadline mode: budget the idle machine meets the deadline at")
          ->capture_default_str();
      app.add_option("--deadline-margin", d.margin, "Deadline mode: margin over the idle time")
          ->capture_default_str()
          ->check(CLI::NonNegativeNumber);
      app.add_option("--headroom", d.headroom,
                     "Deadline mode: plan for (1 - headroom) of the deadline")
          ->capture_default_str()
          ->check(CLI::Range(0.0, 0.99));
      app.add_option("--latency", d.latency_file,
                     "Deadline mode: latency model file (default: calibrate at start-up)");
      app.add_option("--latency-out", d.latency_out,
                     "Deadline mode: save the start-up calibration here");
      app.add_option("--contention-cmd", d.contention_cmd,
                     "Deadline mode: shell command started halfway through each run, killed "
                     "(process group) at its end");
      app.add_option("--deadline-modes", args->deadline_modes,
                     "Deadline mode: corrected and/or fixed (no online correction)")
          ->delimiter(',')
          ->capture_default_str()
          ->check(CLI::IsMember({"corrected", "fixed"}));
      return [args, &global, layers_opt, decode_opt] {
        if (!args->adaptive.empty() || args->deadline) {
          if (layers_opt->count() == 0) args->llm_layers = 8;
          if (decode_opt->count() == 0) args->decode_tokens = 8;
        }
        return run_bench(*args, global);
      };
    }};

}  // namespace
}  // namespace adallava::cli
