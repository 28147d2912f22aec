#include "train/metrics.h"

#include <filesystem>
#include <sstream>

#include "common/error.h"
#include "common/files.h"

namespace adallava::train {

MetricsLog::MetricsLog(const std::string& path, int64_t resume_step) : path_(path) {
  std::filesystem::create_directories(parent_dir(path));
  if (file_exists(path)) {
    // Keep the records up to the resume point; a run interrupted after its last checkpoint
    // logged steps that the resumed run will log again.
    std::istringstream in(read_text_file(path));
    std::string kept, line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      auto record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (record.is_discarded()) continue;  // a line cut off by a crash
      if (record.contains("step") && record["step"].is_number_integer() &&
          record["step"].get<int64_t>() > resume_step)
        continue;
      kept += line + "\n";
    }
    write_text_file_atomic(path, kept);
  }
  out_.open(path, std::ios::app);
  if (!out_) fail("{}: cannot open the metrics file for writing", path);
}

void MetricsLog::write(const nlohmann::json& record) {
  if (!out_.is_open()) return;
  out_ << record.dump() << '\n';
  out_.flush();
}

}  // namespace adallava::train
