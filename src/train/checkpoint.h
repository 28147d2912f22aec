// Training checkpoints in the run directory:
//   <out>/checkpoint-<step>/  model files (TrainingObjective::save_weights), trainer_state.json,
//                             optimizer.safetensors, rng_state.safetensors (one pair of
//                             generator states per rank in a data-parallel run)
//   <out>/final/              model files and trainer_state.json (no optimizer state)
// Each is written into <name>.tmp-<pid>/ and renamed into place, so a directory named
// checkpoint-<step> is always complete.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <ATen/core/Generator.h>
#include <nlohmann/json.hpp>

#include "train/objective.h"
#include "train/optimizer.h"

namespace adallava::train {

// Progress counters and bookkeeping saved with each checkpoint.
struct TrainerState {
  int64_t step = 0;             // optimizer updates done
  int64_t epoch = 0;            // epochs completed
  int64_t update_in_epoch = 0;  // updates done in the current epoch
  int64_t total_steps = 0;
  int64_t warmup_steps = 0;
  int64_t updates_per_epoch = 0;
  int64_t world_size = 1;  // processes of the run that wrote it
  int64_t samples_seen = 0;
  int64_t tokens_seen = 0;         // loss tokens
  nlohmann::json loader_position;  // MicroBatchStream::position() (of rank 0)
  // Data-parallel runs: every rank's position, indexed by rank. Ranks' positions differ only when
  // bad_record_policy=skip passed over batches on some of them.
  std::vector<nlohmann::json> rank_loader_positions;
  std::optional<double> best_metric;  // lowest eval loss seen at a checkpoint
  std::string best_checkpoint;        // its directory name (e.g. "checkpoint-40")
  std::optional<double> eval_loss;    // evaluation at this step, if any

  nlohmann::json to_json() const;
  static TrainerState from_json(const nlohmann::json& j, const std::string& source);
};

// The random state one rank restores on resume: the trainer's generator (AdaLLaVA's plan
// sampling) and LibTorch's default CPU generator.
struct RngStates {
  at::Tensor trainer;
  at::Tensor default_cpu;
};
RngStates capture_rng_states(at::Generator& rng);

// Writes a periodic checkpoint `<output_dir>/checkpoint-<step>` atomically; returns its path.
// `rank_rng` (data-parallel runs): every rank's states, indexed by rank; entry 0 must be `rng`'s.
std::string save_checkpoint(const std::string& output_dir, TrainingObjective& objective,
                            const AdamW& optimizer, at::Generator& rng, const TrainerState& state,
                            const std::vector<RngStates>& rank_rng = {});
// Writes `<output_dir>/final` (model + trainer_state.json) atomically; returns its path.
std::string save_final(const std::string& output_dir, TrainingObjective& objective,
                       const TrainerState& state);

// Restores what save_checkpoint wrote, except the model weights (the caller loads those through
// model::load_llava so the checkpoint is checked like any other). Errors name the file.
TrainerState load_trainer_state(const std::string& checkpoint_dir);
void load_optimizer_state(const std::string& checkpoint_dir, AdamW& optimizer);
// Restores `rank`'s generator states. Returns false (leaving them untouched) when the checkpoint
// holds none for that rank (written by fewer processes); rank 0's are always required.
bool load_rng_state(const std::string& checkpoint_dir, at::Generator& rng, int rank = 0);

// Complete checkpoint-<step> directories in `output_dir`, oldest first.
std::vector<std::pair<int64_t, std::string>> list_checkpoints(const std::string& output_dir);
// checkpointing.resume: "auto" -> newest checkpoint in output_dir or "" when there is none; a
// path -> that checkpoint (an error when it is not one).
std::string resolve_resume(const std::string& resume, const std::string& output_dir);

// Deletes periodic checkpoints beyond the newest `keep_last_n` (0 = keep all), never
// `keep` (the best one). Returns the deleted directories.
std::vector<std::string> rotate_checkpoints(const std::string& output_dir, int64_t keep_last_n,
                                            const std::string& keep);

}  // namespace adallava::train
