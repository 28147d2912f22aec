// The training loop: gradient accumulation with token-weighted micro-batches, clipping, AdamW
// with the lr schedule, optional bf16 autocast, evaluation, metrics, checkpoints, resume and
// graceful stop on SIGINT/SIGTERM.
//
// Gradient accumulation: an update's gradient is that of the mean cross-entropy over every loss
// token of all its micro-batches (as if it were one big batch), not the mean of per-micro-batch
// means. Each micro-batch backpropagates mean * tokens; the summed gradient is divided by the
// update's token count before clipping.
//
// Epochs: update u of an epoch consumes micro-batches [u*accum, (u+1)*accum); the last update of
// the epoch (config's updates_per_epoch, HF's count) also takes the remaining micro-batches, so
// no sample is dropped and the step count matches the config's numbers.
//
// Data parallelism (a Communicator of world size > 1): every rank runs this loop on its shard of
// each update's micro-batches. Gradients are summed over ranks (bucketed all-reduce during the
// last micro-step's backward) and divided by the update's global token count, so the update is
// the one a single process would make over the whole global batch. Only rank 0 writes metrics,
// progress and checkpoints; see docs/distributed.md.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <ATen/core/Generator.h>

#include "config/train_config.h"
#include "train/batch_stream.h"
#include "train/checkpoint.h"
#include "train/lr_schedule.h"
#include "train/metrics.h"
#include "train/objective.h"
#include "train/optimizer.h"

namespace adallava::train {

class Communicator;
class DataParallel;

// A fresh pass over the evaluation set each time it is called.
using EvalStreamFactory = std::function<std::unique_ptr<MicroBatchStream>()>;

struct TrainResult {
  int64_t steps = 0;            // updates done in total (including before a resume)
  int stop_signal = 0;          // SIGINT/SIGTERM that stopped the run early, or 0
  std::string last_checkpoint;  // newest checkpoint-<step> written ("" = none)
  std::string final_dir;        // <out>/final when written
  std::optional<double> last_eval_loss;
  double last_loss = 0;  // token-mean loss of the last update
};

class Trainer {
 public:
  // Freezes the modules cfg.trainable turns off, casts to bf16 when master weights are bf16,
  // builds the parameter groups and the optimizer. `eval` may be empty (no evaluation).
  // `communicator` (null = a single process): `train` and `eval` must then yield this rank's
  // shard; parameters are broadcast from rank 0 here, a collective every rank must reach.
  Trainer(const config::TrainConfig& cfg, TrainingObjective& objective, MicroBatchStream& train,
          EvalStreamFactory eval = {}, std::shared_ptr<Communicator> communicator = nullptr);
  ~Trainer();

  // Continues from a checkpoint-<step> directory: weights, optimizer moments, schedule position,
  // RNG states and the loader position.
  void resume(const std::string& checkpoint_dir);

  // Trains until the schedule ends or a stop signal arrives (handlers must be installed by the
  // caller: see signals.h).
  TrainResult run();

  // One pass of the evaluation set (of every rank's shard together): the token-mean loss and the
  // objective's accuracies (TrainingObjective::accuracy_names, in that order).
  struct Evaluation {
    double loss = 0;
    std::vector<std::pair<std::string, double>> accuracy;
  };
  Evaluation evaluate();

  const TrainerState& state() const { return state_; }
  AdamW& optimizer() { return *optimizer_; }
  int64_t accumulation_steps() const { return accum_; }
  int rank() const;
  int world_size() const;
  bool is_main_rank() const { return rank() == 0; }
  // Gradient synchronisation counters (all zero in a single process).
  const DataParallel& data_parallel() const { return *data_parallel_; }

 private:
  struct UpdateStats {
    double loss_sum = 0;  // sum over micro-batches of mean loss * loss tokens
    int64_t loss_tokens = 0;
    int64_t input_tokens = 0;
    int64_t samples = 0;
    double grad_norm = 0;
    double lr = 0;
    int stop_signal = 0;  // SIGINT/SIGTERM that reached some rank before this update ended
  };
  UpdateStats train_one_update();
  // Micro-batches of the current update into .grad (summed, not yet divided by tokens); sets
  // `epoch_ended` when this rank's loader reached the end of its epoch.
  int64_t accumulate_micro_batches(bool last_in_epoch, UpdateStats& stats, bool& epoch_ended);
  // Every parameter, vision tower and projector first (see DataParallel's bucket order).
  std::vector<at::Tensor> parameters_in_forward_order();
  // Reads this rank's loader to the end of its epoch (another rank's epoch ended early).
  void drain_epoch();
  std::string save(bool with_eval_metric);

  const config::TrainConfig& cfg_;
  TrainingObjective& objective_;
  MicroBatchStream& train_;
  EvalStreamFactory eval_;
  std::unique_ptr<AdamW> optimizer_;
  std::vector<at::Tensor> params_;  // everything the optimizer updates
  at::Generator rng_;
  LrSchedule schedule_;
  bool autocast_ = false;
  int64_t accum_ = 1;
  std::shared_ptr<Communicator> communicator_;
  std::unique_ptr<DataParallel> data_parallel_;
  TrainerState state_;
  std::string last_checkpoint_;
};

}  // namespace adallava::train
