// metrics.jsonl: one JSON object per logged update or evaluation, appended and flushed at once
// so a crashed run keeps everything logged before it.
#pragma once

#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

namespace adallava::train {

class MetricsLog {
 public:
  MetricsLog() = default;  // disabled
  // Opens `path` for appending (a resumed run continues the same file; lines after the resume
  // step from the interrupted run are dropped first, so the file reads as one run).
  MetricsLog(const std::string& path, int64_t resume_step);
  void write(const nlohmann::json& record);
  bool enabled() const { return out_.is_open(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::ofstream out_;
};

}  // namespace adallava::train
