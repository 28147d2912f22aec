// `adallava bench --deadline`: requests under a wall-clock deadline, with a CPU-heavy program
// started beside them halfway, served with and without the online correction.
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "adaptive/deadline.h"
#include "adaptive/latency_model.h"
#include "bench_adaptive.h"
#include "common/error.h"
#include "model/generation.h"
#include "model/loader.h"

namespace adallava::cli::bench {

namespace {

using Clock = std::chrono::steady_clock;

// The competing program: `sh -c cmd` in its own process group, so stopping it ends every
// process it started (and nothing else).
class Contention {
 public:
  explicit Contention(std::string cmd) : cmd_(std::move(cmd)) {}
  ~Contention() { stop(); }
  void start() {
    if (cmd_.empty() || pid_ > 0) return;
    pid_ = fork();
    if (pid_ < 0) fail("--contention-cmd: fork failed");
    if (pid_ == 0) {
      setpgid(0, 0);
      execl("/bin/sh", "sh", "-c", cmd_.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    setpgid(pid_, pid_);  // also here: whichever runs first, the group exists before a kill
    spdlog::info("[deadline] contention started (pid {}): {}", pid_, cmd_);
  }
  void stop() {
    if (pid_ <= 0) return;
    kill(-pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    spdlog::info("[deadline] contention stopped (pid {})", pid_);
    pid_ = -1;
  }

 private:
  std::string cmd_;
  pid_t pid_ = -1;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

struct Served {
  adaptive::DeadlineRecord record;
  bool contended = false;
  double slowdown_after = 1;
};

double share(const std::vector<Served>& s, int phase) {  // phase: -1 all, 0 idle, 1 contended
  int n = 0, met = 0;
  for (const auto& x : s)
    if (phase < 0 || x.contended == (phase == 1)) {
      ++n;
      met += x.record.met ? 1 : 0;
    }
  return n ? static_cast<double>(met) / n : 0;
}

double mean_budget(const std::vector<Served>& s, bool contended) {
  double sum = 0;
  int n = 0;
  for (const auto& x : s)
    if (x.contended == contended) {
      sum += x.record.budget;
      ++n;
    }
  return n ? sum / n : 0;
}

}  // namespace

nlohmann::json run_deadline_experiment(const DeadlineBenchArgs& a, std::string& markdown) {
  if (a.requests < 2) fail("--requests must be >= 2");
  for (const auto& mode : a.modes)
    if (mode != "corrected" && mode != "fixed")
      fail("--deadline-modes: expected corrected and/or fixed, got '{}'", mode);
  torch::NoGradGuard no_grad;
  const auto spec = adaptive_spec(a.model, a.variant);
  adaptive::units_for_budget(a.reference_budget, spec);
  auto m = build_adaptive_model(a.model, a.variant, a.dtype);
  const auto& t = m->config.text;

  adaptive::LatencyModel latency;
  if (!a.latency_file.empty()) {
    latency = adaptive::load_latency_model(a.latency_file);
    latency.check_applies_to(
        adaptive::profiled_shape(*m, adaptive::profiled_units_per_layer(&spec)), "the bench model");
  } else {
    adaptive::CalibrationOptions co;
    const int64_t P = a.model.prompt_tokens;
    co.prompt_lengths = {std::max<int64_t>(8, P / 2), P, P + P / 2};
    const auto t0 = Clock::now();
    latency = adaptive::calibrate(*m, &spec, co);
    latency.source = "start-up calibration";
    spdlog::info("[deadline] calibrated in {:.1f} s",
                 std::chrono::duration<double>(Clock::now() - t0).count());
    if (!a.latency_out.empty()) adaptive::save_latency_model(latency, a.latency_out);
  }

  torch::manual_seed(1);
  auto ids_tensor = torch::randint(3, t.vocab_size, {a.model.prompt_tokens}, torch::kInt64);
  model::GenerationRequest request;
  request.ids.assign(ids_tensor.data_ptr<int64_t>(),
                     ids_tensor.data_ptr<int64_t>() + a.model.prompt_tokens);
  model::GenerationOptions options;
  options.max_new_tokens = a.model.decode_tokens;
  options.stop_at_eos = false;
  auto serve = [&](double budget, model::GenerationResult& result) {
    options.budget = budget;
    const auto t0 = Clock::now();
    result = model::generate(m, {request}, options).front();
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  };

  // The deadline: what the idle machine needs at the reference budget, plus a margin.
  model::GenerationResult result;
  serve(a.reference_budget, result);  // warm-up
  std::vector<double> reference_ms;
  for (int i = 0; i < a.reference_runs; ++i)
    reference_ms.push_back(serve(a.reference_budget, result));
  const double reference = median(reference_ms);
  const double deadline = a.deadline_ms > 0 ? a.deadline_ms : reference * (1.0 + a.margin);
  const double modelled_reference = latency.request_ms(
      result.plan, result.prompt_positions, static_cast<int64_t>(result.tokens.size()), 0);
  // Both modes start from the model scaled to the idle machine, so they differ only in the
  // online correction.
  const double idle_scale = modelled_reference > 0 ? reference / modelled_reference : 1.0;
  spdlog::info(
      "[deadline] idle at budget {}: median {:.0f} ms (model {:.0f} ms, scale {:.2f}) -> "
      "deadline {:.0f} ms",
      a.reference_budget, reference, modelled_reference, idle_scale, deadline);

  nlohmann::json out = {{"variant", adaptive::variant_name(a.variant)},
                        {"dtype", model::compute_dtype_name(a.dtype)},
                        {"llm_layers", a.model.llm_layers},
                        {"prefix_layers", a.model.prefix_layers},
                        {"prompt_tokens", a.model.prompt_tokens},
                        {"new_tokens", a.model.decode_tokens},
                        {"requests", a.requests},
                        {"reference_budget", a.reference_budget},
                        {"reference_idle_ms", reference_ms},
                        {"deadline_ms", deadline},
                        {"idle_scale", idle_scale},
                        {"headroom", a.headroom},
                        {"contention_cmd", a.contention_cmd},
                        {"latency_model", adaptive::to_json(latency)},
                        {"runs", nlohmann::json::array()}};
  std::ostringstream md, detail;
  md << fmt::format(
      "AdaLLaVA-{} {} | {} layers ({} prefix) of 7B dims | prompt {} tokens, {} new tokens | "
      "idle at budget {}: {:.0f} ms (median of {}; model x {:.2f}) | deadline {:.0f} ms | {} "
      "requests, contention from request {}: `{}`\n\n",
      adaptive::variant_name(a.variant), model::compute_dtype_name(a.dtype), a.model.llm_layers,
      a.model.prefix_layers, a.model.prompt_tokens, a.model.decode_tokens, a.reference_budget,
      reference, a.reference_runs, idle_scale, deadline, a.requests, a.requests / 2 + 1,
      a.contention_cmd.empty() ? "(none)" : a.contention_cmd);
  md << "| correction | met (all) | met before contention | met under contention | mean budget "
        "before | mean budget under | final slowdown |\n|---|---|---|---|---|---|---|\n";

  for (const auto& mode : a.modes) {
    adaptive::DeadlineOptions dopt;
    dopt.headroom = a.headroom;
    dopt.online_correction = mode == "corrected";
    dopt.initial_slowdown = idle_scale;
    adaptive::DeadlineController controller(latency, spec, dopt);
    Contention contention(a.contention_cmd);
    std::vector<Served> served;
    detail << fmt::format("\nPer request, correction {}:\n\n", mode)
           << "| # | contention | budget | predicted ms | measured ms | met | slowdown after |\n"
              "|---|---|---|---|---|---|---|\n";
    for (int i = 0; i < a.requests; ++i) {
      const bool contended = i >= a.requests / 2;
      if (contended) contention.start();
      const double budget =
          controller.choose_budget(deadline, a.model.prompt_tokens, a.model.decode_tokens);
      const double ms = serve(budget, result);
      Served s;
      s.record = controller.observe(result, ms);
      s.contended = contended;
      s.slowdown_after = controller.slowdown();
      served.push_back(s);
      const auto& r = s.record;
      spdlog::info(
          "[deadline] {} #{:02d}{} budget {:.3f} predicted {:.0f} ms measured {:.0f} ms "
          "{} (slowdown {:.2f})",
          mode, i + 1, contended ? " [contended]" : "", r.budget, r.predicted_ms, r.measured_ms,
          r.met ? "met" : "MISSED", s.slowdown_after);
      detail << fmt::format("| {} | {} | {:.3f} | {:.0f} | {:.0f} | {} | {:.2f} |\n", i + 1,
                            contended ? "yes" : "", r.budget, r.predicted_ms, r.measured_ms,
                            r.met ? "yes" : "**no**", s.slowdown_after);
    }
    contention.stop();
    md << fmt::format("| {} | {:.1f}% | {:.1f}% | {:.1f}% | {:.3f} | {:.3f} | {:.2f} |\n",
                      mode == "corrected" ? "online (ours)" : "none (fixed calibration)",
                      100 * share(served, -1), 100 * share(served, 0), 100 * share(served, 1),
                      mean_budget(served, false), mean_budget(served, true), controller.slowdown());
    nlohmann::json run = {{"mode", mode},
                          {"share_met", share(served, -1)},
                          {"share_met_idle", share(served, 0)},
                          {"share_met_contended", share(served, 1)},
                          {"requests", nlohmann::json::array()}};
    for (const auto& s : served)
      run["requests"].push_back({{"deadline_ms", s.record.deadline_ms},
                                 {"budget", s.record.budget},
                                 {"predicted_ms", s.record.predicted_ms},
                                 {"measured_ms", s.record.measured_ms},
                                 {"met", s.record.met},
                                 {"feasible", s.record.feasible},
                                 {"contended", s.contended},
                                 {"ratio", s.record.ratio},
                                 {"slowdown_before", s.record.slowdown_before},
                                 {"slowdown_after", s.slowdown_after}});
    out["runs"].push_back(run);
    // Let the machine settle before the next mode starts from the idle state.
    std::this_thread::sleep_for(std::chrono::seconds(3));
  }
  markdown = md.str() + detail.str();
  return out;
}

}  // namespace adallava::cli::bench
