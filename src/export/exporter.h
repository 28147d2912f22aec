// Builds the self-contained TorchScript artifact (model.pt) from a LLaVA-1.5 or AdaLLaVA
// checkpoint, entirely from C++: parameters registered on torch::jit::Module objects and
// methods compiled from the TorchScript source in script_source.cpp. See docs/export.md for the
// methods and the extra files.
#pragma once

#include <string>

#include <c10/core/ScalarType.h>
#include <torch/csrc/jit/api/module.h>
#include <nlohmann/json.hpp>

#include "export/export_source.h"

namespace adallava::exporter {

struct ExportOptions {
  std::string checkpoint_dir;
  std::string vision_tower_dir;  // overrides mm_vision_tower
  std::string out_path;
  c10::ScalarType dtype = c10::ScalarType::Float;
};

struct ExportSummary {
  std::string variant;  // "L", "H" or "plain"
  int64_t num_tensors = 0;
  int64_t num_elements = 0;
  int64_t file_bytes = 0;
  double build_seconds = 0, save_seconds = 0;
};

// The scripted module (in memory) for an already read checkpoint.
torch::jit::Module build_scripted_model(const ExportSource& source);

// What extra/adallava_config.json holds for `module` built from `source` (tensor digests
// included); `extra_digests` maps the other extra files to their digests.
nlohmann::json exported_config(const ExportSource& source, const torch::jit::Module& module,
                               const std::map<std::string, std::string>& extra_digests);

// Reads the checkpoint, builds the module and writes `out_path` (through a temporary file).
ExportSummary export_model(const ExportOptions& options);

}  // namespace adallava::exporter
