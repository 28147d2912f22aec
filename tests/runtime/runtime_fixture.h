// Shared helpers for the runtime tests. The runtime tests link only adallava_runtime (LibTorch,
// text, image, common): artifacts are produced by the `adallava export` CLI, and golden arrays
// are read with the torch-free safetensors reader.
#pragma once

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <torch/torch.h>

#include "common/files.h"
#include "common/safetensors_view.h"
#include "support/paths.h"

namespace adallava::test {

struct CommandResult {
  int exit_code = -1;  // -1 when killed by a signal
  std::string out, err;
};

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline CommandResult run_command(const std::string& command, const std::string& scratch) {
  const std::string out = scratch + "/cmd.out", err = scratch + "/cmd.err";
  const int status = std::system((command + " > " + out + " 2> " + err).c_str());
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

// Exports a golden checkpoint once per test process (fresh, so a changed exporter is tested).
inline std::string export_artifact(const std::string& golden_checkpoint, const std::string& name) {
  static std::map<std::string, std::string> done;
  static const std::string dir = scratch_dir("runtime-artifacts");
  auto it = done.find(name);
  if (it != done.end()) return it->second;
  const std::string path = dir + "/" + name + ".pt";
  auto r = run_command(
      adallava_bin() + " export --model " + golden(golden_checkpoint) + " --out " + path, dir);
  if (r.exit_code != 0) throw std::runtime_error("export failed: " + r.err);
  done[name] = path;
  return path;
}

inline torch::Tensor golden_tensor(const std::string& file, const std::string& name) {
  static std::map<std::string, std::shared_ptr<SafetensorsFile>> files;
  auto& f = files[file];
  if (!f) f = SafetensorsFile::open(golden(file));
  const auto& view = f->tensor(name);
  auto values = f->read_as_float(name);
  return torch::tensor(values).view(view.shape);
}

inline std::vector<int64_t> golden_ids(const std::string& file, const std::string& name) {
  auto t = golden_tensor(file, name).to(torch::kInt64).contiguous();
  return std::vector<int64_t>(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + t.numel());
}

inline double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

}  // namespace adallava::test
