#include "train/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace adallava::train {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const int64_t s = static_cast<int64_t>(std::llround(seconds));
  if (s >= 3600) return fmt::format("{}h{:02d}m", s / 3600, (s % 3600) / 60);
  if (s >= 60) return fmt::format("{}m{:02d}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

Progress::Progress(const std::string& mode, int64_t total_steps, int64_t start_step)
    : bar_(mode == "on" || (mode == "auto" && ::isatty(STDERR_FILENO))),
      total_(total_steps),
      start_(start_step),
      started_(std::chrono::steady_clock::now()) {}

void Progress::update(const StepReport& r) {
  if (!bar_) return;
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  const int64_t done = r.step - start_;
  const double eta = done > 0 ? elapsed / done * static_cast<double>(total_ - r.step) : NAN;
  const int width = 24;
  const double fraction = total_ > 0 ? static_cast<double>(r.step) / total_ : 1.0;
  const int filled = static_cast<int>(fraction * width);
  std::string bar(filled, '#');
  bar.append(width - filled, '.');
  std::fprintf(
      stderr,
      "\r\033[K[%s] %lld/%lld %3.0f%% | loss %.4f lr %.2e | %.1f samples/s %.0f tok/s | ETA %s",
      bar.c_str(), static_cast<long long>(r.step), static_cast<long long>(total_), 100.0 * fraction,
      r.loss, r.lr, r.samples_per_s, r.tokens_per_s, format_duration(eta).c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void Progress::line(const std::string& text) {
  if (drawn_) {
    std::fprintf(stderr, "\r\033[K");
    drawn_ = false;
  }
  spdlog::info("{}", text);
}

void Progress::finish() {
  if (drawn_) std::fprintf(stderr, "\n");
  drawn_ = false;
}

}  // namespace adallava::train
