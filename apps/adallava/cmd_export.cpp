// adallava export: write a LLaVA-1.5 / AdaLLaVA checkpoint as one self-contained TorchScript file.
#include <iostream>

#include <spdlog/spdlog.h>

#include "command.h"
#include "common/error.h"
#include "export/exporter.h"
#include "model/compute_env.h"
#include "model/loader.h"

namespace adallava::cli {
namespace {

struct ExportArgs {
  std::string model;
  std::string vision_tower;
  std::string out;
  std::string dtype = "fp32";
};

int run_export(const ExportArgs& a, const GlobalOptions& global) {
  configure_compute(global.threads);
  exporter::ExportOptions options;
  options.checkpoint_dir = a.model;
  options.vision_tower_dir = a.vision_tower;
  options.out_path = a.out;
  options.dtype = model::parse_compute_dtype(a.dtype, "--dtype");
  const auto s = exporter::export_model(options);
  spdlog::info(
      "[export] {} ({}, {}): {} tensors, {:.1f} M parameters, {:.1f} MB; built in {:.2f} s, "
      "saved in {:.2f} s",
      a.out, s.variant == "plain" ? "LLaVA" : "AdaLLaVA-" + s.variant, a.dtype, s.num_tensors,
      s.num_elements / 1e6, s.file_bytes / 1e6, s.build_seconds, s.save_seconds);
  std::cout << a.out << std::endl;
  return 0;
}

const RegisterCommand kRegister{
    "export", "Export a checkpoint as a self-contained TorchScript model (model.pt)", 60,
    [](CLI::App& app, const GlobalOptions& global) -> std::function<int()> {
      auto args = std::make_shared<ExportArgs>();
      app.add_option("-m,--model", args->model, "Checkpoint directory (LLaVA-1.5 or AdaLLaVA)")
          ->required();
      app.add_option("--vision-tower", args->vision_tower,
                     "Local directory of the vision tower (when mm_vision_tower is a hub id)");
      app.add_option("-o,--out", args->out, "Output file, e.g. model.pt")->required();
      app.add_option("--dtype", args->dtype, "fp32 or bf16")->capture_default_str();
      return [args, &global] { return run_export(*args, global); };
    }};

}  // namespace
}  // namespace adallava::cli
