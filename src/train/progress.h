// Training progress on stderr: a one-line bar with throughput and ETA on a terminal, or plain log
// lines (at logging.log_every) when stderr is not a terminal.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace adallava::train {

struct StepReport {
  int64_t step = 0;  // updates done
  double epoch = 0;
  double loss = 0;
  double lr = 0;
  double grad_norm = 0;
  double samples_per_s = 0;
  double tokens_per_s = 0;
};

// "2h03m", "4m05s", "12s".
std::string format_duration(double seconds);

class Progress {
 public:
  // mode: "auto" (bar when stderr is a terminal), "on", "off".
  Progress(const std::string& mode, int64_t total_steps, int64_t start_step);
  // Every update: redraws the bar (if any).
  void update(const StepReport& report);
  // A line that must stay in the log (periodic metrics, evaluation, checkpoints).
  void line(const std::string& text);
  void finish();
  bool bar() const { return bar_; }

 private:
  bool bar_;
  int64_t total_, start_;
  std::chrono::steady_clock::time_point started_;
  bool drawn_ = false;
};

}  // namespace adallava::train
