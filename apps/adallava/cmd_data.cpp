// `adallava data <action>`: dataset tools. Each action is one entry of data_actions() below
// (synth now; check and tokenize are meant to be added the same way).
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "command.h"
#include "data/synth/generator.h"

namespace adallava::cli {
namespace {

// One nested sub-command: adds its options to `app` and returns the function that runs it.
struct DataAction {
  std::string name;
  std::string description;
  std::function<std::function<int()>(CLI::App& app)> setup;
};

std::function<int()> setup_synth(CLI::App& app) {
  auto options = std::make_shared<synth::SynthOptions>();
  app.add_option("--out", options->out_dir, "Output folder (created; must be empty unless --force)")
      ->required();
  app.add_option("--seed", options->seed,
                 "Random seed; the same seed and options give the same bytes");
  app.add_option("--size", options->size, "tiny (tests), small or default (demo)")
      ->check(CLI::IsMember({"tiny", "small", "default"}));
  app.add_option("--image-size", options->image_size, "Image side in pixels")
      ->check(CLI::Range(48, 1024));
  app.add_flag("--force", options->force, "Replace a suite previously written to --out");
  return [options]() {
    const auto manifest = synth::generate_suite(*options);
    const auto& counts = manifest["counts"];
    spdlog::info(
        "[synth] wrote {} (seed {}, size {}): {} train / {} val questions, {} caption images",
        options->out_dir, options->seed, options->size, counts["train"]["questions"].get<long>(),
        counts["val"]["questions"].get<long>(), counts["pretrain"]["images"].get<long>());
    for (auto it = counts["eval"].begin(); it != counts["eval"].end(); ++it)
      spdlog::info("[synth]   eval/{}: {} questions on {} images", it.key(),
                   it.value()["questions"].get<long>(), it.value()["images"].get<long>());
    return 0;
  };
}

const std::vector<DataAction>& data_actions() {
  static const std::vector<DataAction> actions = {
      {"synth",
       "Generate the embedded synthetic shapes suite (training, validation and benchmark sets)",
       setup_synth},
  };
  return actions;
}

RegisterCommand register_data("data", "Dataset tools: synth", 20,
                              [](CLI::App& app, const GlobalOptions&) -> std::function<int()> {
                                app.require_subcommand(1);
                                auto runners =
                                    std::make_shared<std::map<CLI::App*, std::function<int()>>>();
                                for (const auto& action : data_actions()) {
                                  CLI::App* sub =
                                      app.add_subcommand(action.name, action.description);
                                  (*runners)[sub] = action.setup(*sub);
                                }
                                return [runners]() {
                                  for (auto& [sub, run] : *runners)
                                    if (sub->parsed()) return run();
                                  return 1;
                                };
                              });

}  // namespace
}  // namespace adallava::cli
