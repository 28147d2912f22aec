// `adallava train` end to end: config -> model -> data -> Trainer -> run directory.
#pragma once

#include <string>
#include <vector>

#include "config/train_config.h"
#include "train/trainer.h"

namespace adallava::train {

struct RunOptions {
  std::vector<std::string> command_line;  // written as the header of <out>/config.yaml
  int threads_override = 0;               // --threads of the CLI (0 = the config's)
};

// Runs the training job described by `resolved`. Returns the process exit code: 0 when the
// schedule completed, 128 + signal after a SIGINT/SIGTERM stop (a resumable checkpoint is saved
// first). Errors are thrown as adallava::Error.
int run_training(const config::ResolvedConfig& resolved, const RunOptions& options);

}  // namespace adallava::train
