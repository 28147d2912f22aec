#include "train/trainer.h"

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <map>

#include <ATen/CPUGeneratorImpl.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "common/error.h"
#include "common/files.h"
#include "train/distributed/communicator.h"
#include "train/distributed/data_parallel.h"
#include "train/precision.h"
#include "train/progress.h"
#include "train/signals.h"

namespace adallava::train {

namespace {

using Clock = std::chrono::steady_clock;

bool group_trainable(const config::TrainableConfig& t, const std::string& group) {
  if (group == "vision_tower") return t.vision_tower;
  if (group == "projector") return t.projector;
  if (group == "llm") return t.llm;
  if (group == "latency_encoder") return t.latency_encoder;
  if (group == "scheduler") return t.scheduler;
  fail(
      "trainer: parameter group '{}' is unknown (expected vision_tower, projector, llm, "
      "latency_encoder or scheduler)",
      group);
}

int rank_of(const std::shared_ptr<Communicator>& communicator) {
  return communicator ? communicator->rank() : 0;
}

// Every rank's `value`, indexed by rank.
std::vector<int64_t> gather_int(Communicator& communicator, int64_t value,
                                const std::string& what) {
  std::vector<int64_t> out;
  for (const auto& t : communicator.all_gather(torch::tensor({value}, torch::kLong), what))
    out.push_back(t.item<int64_t>());
  return out;
}

// Fails unless every rank holds the same `value`; `what` names it ("batches per epoch").
void require_same_on_all_ranks(Communicator& communicator, int64_t value, const std::string& what,
                               const std::string& hint) {
  if (communicator.world_size() == 1) return;
  const auto values = gather_int(communicator, value, "all-gather of the " + what);
  for (size_t rank = 1; rank < values.size(); ++rank)
    if (values[rank] != values[0])
      fail("trainer: rank 0 has {} {} but rank {} has {}; {}", values[0], what, rank, values[rank],
           hint);
}

// Every rank's JSON value. Texts are padded with spaces (which JSON ignores) to one length, as
// all-gather needs equal shapes.
std::vector<nlohmann::json> gather_json(Communicator& communicator, const nlohmann::json& value,
                                        const std::string& what) {
  if (communicator.world_size() == 1) return {value};
  const std::string text = value.dump();
  auto length = torch::tensor({static_cast<int64_t>(text.size())}, torch::kLong);
  communicator.all_reduce_max(length, "all-reduce of the length of " + what);
  auto buffer = torch::full({length.item<int64_t>()}, static_cast<int64_t>(' '), torch::kUInt8);
  std::memcpy(buffer.data_ptr<uint8_t>(), text.data(), text.size());
  std::vector<nlohmann::json> out;
  for (const auto& t : communicator.all_gather(buffer, "all-gather of " + what)) {
    const auto* bytes = reinterpret_cast<const char*>(t.data_ptr<uint8_t>());
    out.push_back(nlohmann::json::parse(bytes, bytes + t.numel()));
  }
  return out;
}

double group_lr(const config::OptimizerConfig& o, const std::string& group) {
  if (group == "projector" && o.projector_lr) return *o.projector_lr;
  if ((group == "latency_encoder" || group == "scheduler") && o.scheduler_lr)
    return *o.scheduler_lr;
  return o.lr;
}

}  // namespace

Trainer::Trainer(const config::TrainConfig& cfg, TrainingObjective& objective,
                 MicroBatchStream& train, EvalStreamFactory eval,
                 std::shared_ptr<Communicator> communicator)
    : cfg_(cfg),
      objective_(objective),
      train_(train),
      eval_(std::move(eval)),
      // Ranks must sample different AdaLLaVA plans; rank 0 keeps the single-process stream.
      rng_(at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(cfg.schedule.seed) +
                                                    static_cast<uint64_t>(rank_of(communicator)))),
      schedule_(parse_lr_schedule(cfg.schedule.lr_schedule)),
      communicator_(communicator ? std::move(communicator) : Communicator::single_process()) {
  if (cfg.optimizer.name != "adamw")
    fail("optimizer.name: '{}' is not supported", cfg.optimizer.name);
  if (cfg.optimizer.betas.size() != 2) fail("optimizer.betas: expected 2 values");
  auto& module = objective_.module();
  if (cfg.precision.master_weights == "bf16") {
    module.to(torch::kBFloat16);
  } else {
    module.to(torch::kFloat32);
  }
  autocast_ = cfg.precision.dtype == "bf16" && cfg.precision.master_weights == "fp32";

  std::map<std::string, std::pair<int64_t, int64_t>> counts;  // group -> (trainable, frozen)
  for (auto& p : module.named_parameters(/*recurse=*/true)) {
    const std::string group = objective_.group_of(p.key());
    const bool on = group_trainable(cfg.trainable, group);
    p.value().set_requires_grad(on);
    (on ? counts[group].first : counts[group].second) += p.value().numel();
  }
  auto groups = make_param_groups(
      module, [&](const std::string& name) { return objective_.group_of(name); },
      [&](const std::string& group) { return group_lr(cfg.optimizer, group); },
      cfg.optimizer.weight_decay);
  if (groups.empty()) fail("trainer: no trainable parameters (check the trainable section)");
  for (const auto& g : groups)
    for (const auto& p : g.params) params_.push_back(p);
  optimizer_ = std::make_unique<AdamW>(
      std::move(groups),
      AdamWOptions{cfg.optimizer.betas[0], cfg.optimizer.betas[1], cfg.optimizer.eps});

  // Every parameter is broadcast (frozen ones too: a rank must not keep its own random init);
  // those left trainable above are synchronised. Gradients are summed, not averaged: the update
  // divides by the global token count below.
  DataParallelOptions sync;
  sync.bucket_cap_mb = cfg.distributed.bucket_cap_mb;
  sync.overlap_with_backward = cfg.distributed.overlap_with_backward;
  sync.reduction = DataParallelOptions::Reduction::kSum;
  data_parallel_ =
      std::make_unique<DataParallel>(communicator_, parameters_in_forward_order(), sync);
  data_parallel_->broadcast_parameters();

  accum_ = cfg.grad_accum_steps(world_size());
  const int64_t batches = train_.batches_per_epoch();
  // The lock-step all-reduce needs the same number of updates on every rank.
  require_same_on_all_ranks(*communicator_, batches, "micro-batches per epoch",
                            "every rank must read the same data set (same data.train file)");
  if (batches < 1) fail("trainer: the training set yields no micro-batch");
  // config::updates_per_epoch from a sample count; the loader knows its batch count directly.
  state_.updates_per_epoch = std::max<int64_t>(1, batches / accum_);
  state_.total_steps = cfg.total_updates(state_.updates_per_epoch);
  state_.warmup_steps = cfg.warmup_updates(state_.total_steps);
  state_.loader_position = train_.position();
  state_.world_size = world_size();

  for (const auto& [group, c] : counts)
    spdlog::info("[train] {:<15} {:>12} trainable {:>12} frozen parameters", group, c.first,
                 c.second);
  spdlog::info(
      "[train] {} updates ({} per epoch, {} micro-batches of {} each, accumulation {}), warmup "
      "{}, {} schedule, peak lr {}, precision {} (master weights {})",
      state_.total_steps, state_.updates_per_epoch, batches, cfg.schedule.micro_batch_size, accum_,
      state_.warmup_steps, cfg.schedule.lr_schedule, cfg.optimizer.lr, cfg.precision.dtype,
      cfg.precision.master_weights);
  if (world_size() > 1)
    spdlog::info(
        "[train] data parallel: {} processes, {} micro-batches per rank per epoch, {} gradient "
        "bucket(s) of <= {} MB, overlap with backward {}",
        world_size(), batches, data_parallel_->num_buckets(), cfg.distributed.bucket_cap_mb,
        cfg.distributed.overlap_with_backward ? "on" : "off");
}

Trainer::~Trainer() = default;

std::vector<at::Tensor> Trainer::parameters_in_forward_order() {
  // DataParallel fills its buckets in reverse list order, the order in which backward should
  // produce the gradients, and launches them strictly in bucket order. Registration order puts
  // the vision tower between the LLM and lm_head, so its gradients (the last ones backward
  // computes; those of its unused last layer with vision_select_layer -2 never come) would hold
  // back every LLM bucket until backward ends. The tower and projector run first in forward.
  std::vector<at::Tensor> ordered, rest;
  for (auto& p : objective_.module().named_parameters(/*recurse=*/true)) {
    const std::string group = objective_.group_of(p.key());
    (group == "vision_tower" || group == "projector" ? ordered : rest).push_back(p.value());
  }
  ordered.insert(ordered.end(), rest.begin(), rest.end());
  return ordered;
}

int Trainer::rank() const {
  return communicator_->rank();
}

int Trainer::world_size() const {
  return communicator_->world_size();
}

void Trainer::resume(const std::string& dir) {
  TrainerState saved = load_trainer_state(dir);
  require_same_on_all_ranks(*communicator_, saved.step, "as the resumed update",
                            "every rank must resume from the same checkpoint directory");
  if (saved.updates_per_epoch != state_.updates_per_epoch ||
      saved.total_steps != state_.total_steps || saved.warmup_steps != state_.warmup_steps)
    spdlog::warn(
        "[train] {}: the checkpoint was written with {} updates per epoch, {} total, {} warmup; "
        "this config gives {}, {}, {}: continuing with the config's schedule, so the run will "
        "not repeat the original one exactly",
        dir, saved.updates_per_epoch, saved.total_steps, saved.warmup_steps,
        state_.updates_per_epoch, state_.total_steps, state_.warmup_steps);
  if (saved.world_size != world_size() && is_main_rank())
    spdlog::warn(
        "[train] {}: written by {} process(es), resumed by {}: the data shards differ, so the "
        "continued run sees the remaining samples of this epoch in a different split",
        dir, saved.world_size, world_size());
  objective_.load_weights(dir);
  load_optimizer_state(dir, *optimizer_);
  if (!load_rng_state(dir, rng_, rank()))
    spdlog::warn("[train] {}: no RNG state for rank {}; it continues from its seed", dir, rank());
  const bool per_rank =
      static_cast<int64_t>(saved.rank_loader_positions.size()) == world_size() && world_size() > 1;
  train_.restore(per_rank ? saved.rank_loader_positions[rank()] : saved.loader_position);
  // Every rank read the same files; this only guards against one that read something else.
  data_parallel_->broadcast_parameters();
  saved.updates_per_epoch = state_.updates_per_epoch;
  saved.total_steps = state_.total_steps;
  saved.warmup_steps = state_.warmup_steps;
  saved.world_size = world_size();
  state_ = saved;
  state_.loader_position = train_.position();
  last_checkpoint_ = dir;
  spdlog::info("[train] resumed from {} at update {} (epoch {}, update {} of it)", dir, state_.step,
               state_.epoch, state_.update_in_epoch);
}

int64_t Trainer::accumulate_micro_batches(bool last_in_epoch, UpdateStats& stats,
                                          bool& epoch_ended) {
  int64_t micro_batches = 0;
  while (last_in_epoch || micro_batches < accum_) {
    std::optional<TrainBatch> batch = train_.next();
    if (!batch) {
      epoch_ended = true;
      break;
    }
    // Only the update's last micro-step reduces gradients (its backward launches the bucket
    // all-reduces). The last update of an epoch does not know which micro-step is its last, so
    // it stays local throughout and synchronize_gradients() reduces everything afterwards.
    DataParallel::NoSyncGuard local_only;
    if (last_in_epoch || micro_batches + 1 < accum_) local_only = data_parallel_->no_sync();
    LossOutput out;
    {
      AutocastGuard autocast(autocast_);
      out = objective_.forward(*batch, rng_);
    }
    if (out.loss_tokens > 0) (out.loss * static_cast<double>(out.loss_tokens)).backward();
    stats.loss_sum += out.loss.item<double>() * static_cast<double>(out.loss_tokens);
    stats.loss_tokens += out.loss_tokens;
    stats.input_tokens += out.input_tokens;
    // Text-free batches (vision pretraining) count their images.
    stats.samples +=
        static_cast<int64_t>(batch->samples.empty() ? batch->images.size() : batch->samples.size());
    ++micro_batches;
  }
  return micro_batches;
}

void Trainer::drain_epoch() {
  int64_t dropped = 0;
  while (train_.next()) ++dropped;
  if (dropped == 0) return;
  spdlog::warn(
      "[train] rank {}: another rank's loader ended the epoch early (records skipped as bad); "
      "this rank leaves out its last {} micro-batch(es) of the epoch to stay in step",
      rank(), dropped);
}

Trainer::UpdateStats Trainer::train_one_update() {
  UpdateStats stats;
  bool last_in_epoch = state_.update_in_epoch >= state_.updates_per_epoch - 1;
  bool epoch_ended = false;
  // Summed over ranks; the decisions below depend only on these, so every rank takes them alike.
  enum Total { kLossSum, kLossTokens, kInputTokens, kSamples, kMicro, kEnded, kSigint, kSigterm };
  std::vector<double> totals;
  for (int attempt = 0; attempt < 2; ++attempt) {
    stats = UpdateStats{};
    epoch_ended = false;
    const int64_t micro_batches = accumulate_micro_batches(last_in_epoch, stats, epoch_ended);
    data_parallel_->synchronize_gradients();
    const int signal = stop_requested();
    totals = data_parallel_->all_reduce_sum(
        {stats.loss_sum, static_cast<double>(stats.loss_tokens),
         static_cast<double>(stats.input_tokens), static_cast<double>(stats.samples),
         static_cast<double>(micro_batches), epoch_ended ? 1.0 : 0.0, signal == SIGINT ? 1.0 : 0.0,
         signal != 0 && signal != SIGINT ? 1.0 : 0.0});
    if (totals[kMicro] > 0) break;
    // Every loader ran out before the epoch's last update (records skipped as bad): start the
    // next epoch.
    ++state_.epoch;
    state_.update_in_epoch = 0;
    last_in_epoch = state_.updates_per_epoch <= 1;
  }
  if (totals[kMicro] == 0) fail("trainer: the training loader yields no micro-batch");
  if (totals[kEnded] > 0) {
    // With bad records skipped one rank's epoch can end before the others'; all ranks start the
    // next epoch together so the number of updates stays the same everywhere.
    if (!epoch_ended) drain_epoch();
    ++state_.epoch;
    state_.update_in_epoch = 0;
  } else {
    ++state_.update_in_epoch;
  }
  stats.loss_sum = totals[kLossSum];
  stats.loss_tokens = static_cast<int64_t>(totals[kLossTokens]);
  stats.input_tokens = static_cast<int64_t>(totals[kInputTokens]);
  stats.samples = static_cast<int64_t>(totals[kSamples]);
  stats.stop_signal = totals[kSigterm] > 0 ? SIGTERM : totals[kSigint] > 0 ? SIGINT : 0;

  stats.lr = cfg_.optimizer.lr *
             lr_factor(schedule_, state_.step, state_.warmup_steps, state_.total_steps);
  if (stats.loss_tokens > 0) {
    // .grad holds the sum over ranks of sum(per-token loss) gradients: divide by the global
    // token count, as one process over the whole global batch would.
    const double tokens = static_cast<double>(stats.loss_tokens);
    stats.grad_norm = global_grad_norm(params_) / tokens;
    double clip = 1.0;
    // torch.nn.utils.clip_grad_norm_: scale by max_norm / (norm + 1e-6) when that is below 1.
    if (cfg_.optimizer.grad_clip > 0)
      clip = std::min(1.0, cfg_.optimizer.grad_clip / (stats.grad_norm + 1e-6));
    scale_grads(params_, clip / tokens);
    optimizer_->step(lr_factor(schedule_, state_.step, state_.warmup_steps, state_.total_steps));
  } else {
    spdlog::warn("[train] update {}: no loss tokens in {} micro-batches; parameters unchanged",
                 state_.step + 1, static_cast<int64_t>(totals[kMicro]));
  }
  optimizer_->zero_grad();
  ++state_.step;
  state_.samples_seen += stats.samples;
  state_.tokens_seen += stats.loss_tokens;
  state_.loader_position = train_.position();
  return stats;
}

Trainer::Evaluation Trainer::evaluate() {
  if (!eval_) fail("trainer: no evaluation set");
  auto stream = eval_();
  auto& module = objective_.module();
  module.eval();
  torch::NoGradGuard no_grad;
  double loss_sum = 0;
  int64_t tokens = 0;
  const auto names = objective_.accuracy_names();
  // [hits, total] per name, summed over batches here and over ranks below.
  auto sums = torch::zeros({static_cast<int64_t>(2 * names.size())}, torch::kDouble);
  auto* sum = sums.data_ptr<double>();
  // A private generator: evaluation must not shift the training RNG stream.
  at::Generator rng = at::make_generator<at::CPUGeneratorImpl>(
      static_cast<uint64_t>(cfg_.schedule.seed) + 1 + static_cast<uint64_t>(rank()));
  while (auto batch = stream->next()) {
    AutocastGuard autocast(autocast_);
    LossOutput out = objective_.forward(*batch, rng);
    loss_sum += out.loss.item<double>() * static_cast<double>(out.loss_tokens);
    tokens += out.loss_tokens;
    for (size_t i = 0; i < names.size(); ++i) {
      const auto it = out.accuracy.find(names[i]);
      if (it == out.accuracy.end()) continue;
      sum[2 * i] += it->second.hits;
      sum[2 * i + 1] += it->second.total;
    }
  }
  module.train();
  // Over every rank's tokens: the numbers one process over the whole set would report.
  const double loss = global_token_mean(*communicator_, loss_sum, static_cast<double>(tokens));
  if (std::isnan(loss)) fail("trainer: the evaluation set has no loss tokens");
  if (!names.empty())
    communicator_->all_reduce_sum(sums, "all-reduce of the evaluation accuracies");
  Evaluation result;
  result.loss = loss;
  for (size_t i = 0; i < names.size(); ++i)
    if (sum[2 * i + 1] > 0) result.accuracy.emplace_back(names[i], sum[2 * i] / sum[2 * i + 1]);
  return result;
}

std::string Trainer::save(bool with_eval_metric) {
  const std::string name = fmt::format("checkpoint-{}", state_.step);
  if (with_eval_metric && state_.eval_loss &&
      (!state_.best_metric || *state_.eval_loss < *state_.best_metric)) {
    state_.best_metric = state_.eval_loss;
    state_.best_checkpoint = name;
  }
  // Collectives first (every rank), then rank 0 writes alone.
  std::vector<RngStates> rank_rng;
  state_.rank_loader_positions.clear();
  if (world_size() > 1) {
    const RngStates own = capture_rng_states(rng_);
    const auto trainer = communicator_->all_gather(own.trainer, "all-gather of the RNG states");
    const auto default_cpu =
        communicator_->all_gather(own.default_cpu, "all-gather of the default RNG states");
    for (size_t r = 0; r < trainer.size(); ++r) rank_rng.push_back({trainer[r], default_cpu[r]});
    state_.rank_loader_positions =
        gather_json(*communicator_, train_.position(), "the loader positions");
  }
  std::string path = join_path(cfg_.checkpointing.output_dir, name);
  if (is_main_rank()) {
    path = save_checkpoint(cfg_.checkpointing.output_dir, objective_, *optimizer_, rng_, state_,
                           rank_rng);
    const std::string keep = cfg_.checkpointing.keep_best ? state_.best_checkpoint : "";
    for (const auto& deleted :
         rotate_checkpoints(cfg_.checkpointing.output_dir, cfg_.checkpointing.keep_last_n, keep))
      spdlog::info("[train] removed old checkpoint {}", deleted);
  }
  // No rank may run into the next update's all-reduce (and its time-out) while rank 0 writes.
  communicator_->barrier("barrier after the checkpoint write of " + name);
  last_checkpoint_ = path;
  return path;
}

TrainResult Trainer::run() {
  const auto& ck = cfg_.checkpointing;
  const int64_t upe = state_.updates_per_epoch;
  const int64_t eval_period = eval_ ? cfg_.schedule.eval_every.to_updates(upe) : 0;
  const int64_t save_period = ck.save_every.to_updates(upe);
  const int64_t log_period = cfg_.logging.log_every.to_updates(upe);
  const bool keep_best = ck.keep_best.has_value() && eval_period > 0;

  MetricsLog metrics;
  if (cfg_.logging.metrics_file && is_main_rank()) {
    std::string path = *cfg_.logging.metrics_file;
    if (!std::filesystem::path(path).is_absolute()) path = join_path(ck.output_dir, path);
    metrics = MetricsLog(path, state_.step);
  }
  Progress progress(is_main_rank() ? cfg_.logging.progress : "off", state_.total_steps,
                    state_.step);
  TrainResult result;

  // Window since the last log line.
  double window_loss_sum = 0;
  int64_t window_tokens = 0, window_inputs = 0, window_samples = 0;
  auto window_start = Clock::now();

  double update_seconds = 0;  // inside train_one_update: the base of the all-reduce share
  data_parallel_->reset_stats();
  while (state_.step < state_.total_steps) {
    const auto update_start = Clock::now();
    UpdateStats s = train_one_update();
    update_seconds += std::chrono::duration<double>(Clock::now() - update_start).count();
    state_.eval_loss.reset();
    window_loss_sum += s.loss_sum;
    window_tokens += s.loss_tokens;
    window_inputs += s.input_tokens;
    window_samples += s.samples;
    result.last_loss = s.loss_tokens ? s.loss_sum / s.loss_tokens : 0.0;

    const double elapsed = std::chrono::duration<double>(Clock::now() - window_start).count();
    StepReport report;
    report.step = state_.step;
    report.epoch = static_cast<double>(state_.epoch) +
                   static_cast<double>(state_.update_in_epoch) / static_cast<double>(upe);
    report.loss = window_tokens ? window_loss_sum / window_tokens : 0.0;
    report.lr = s.lr;
    report.grad_norm = s.grad_norm;
    report.samples_per_s = elapsed > 0 ? window_samples / elapsed : 0;
    report.tokens_per_s = elapsed > 0 ? window_inputs / elapsed : 0;
    progress.update(report);

    const bool last = state_.step == state_.total_steps;
    if ((log_period > 0 && state_.step % log_period == 0) || last) {
      progress.line(fmt::format(
          "[train] step {}/{} epoch {:.2f} | loss {:.4f} | lr {:.3e} | grad norm {:.3f} | "
          "{:.1f} samples/s {:.0f} tok/s",
          report.step, state_.total_steps, report.epoch, report.loss, report.lr, report.grad_norm,
          report.samples_per_s, report.tokens_per_s));
      metrics.write({{"step", report.step},
                     {"epoch", report.epoch},
                     {"loss", report.loss},
                     {"lr", report.lr},
                     {"grad_norm", report.grad_norm},
                     {"tokens_per_s", report.tokens_per_s},
                     {"samples_per_s", report.samples_per_s},
                     {"loss_tokens", window_tokens},
                     {"samples", window_samples}});
      window_loss_sum = 0;
      window_tokens = window_inputs = window_samples = 0;
      window_start = Clock::now();
    }

    bool evaluated = false;
    if (eval_period > 0 && (state_.step % eval_period == 0 || last)) {
      const auto t0 = Clock::now();
      const Evaluation evaluation = evaluate();
      state_.eval_loss = evaluation.loss;
      evaluated = true;
      result.last_eval_loss = state_.eval_loss;
      const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
      nlohmann::json line = {
          {"step", state_.step}, {"epoch", report.epoch}, {"eval_loss", evaluation.loss}};
      std::string accuracies;
      for (const auto& [name, value] : evaluation.accuracy) {
        line["eval_" + name] = value;
        accuracies += fmt::format(", {} {:.1f} %", name, 100 * value);
      }
      progress.line(fmt::format("[train] step {} eval loss {:.4f}{} ({:.1f} s)", state_.step,
                                evaluation.loss, accuracies, seconds));
      metrics.write(line);
    }

    const bool periodic = save_period > 0 && state_.step % save_period == 0;
    // keep_best: an evaluation that beats the best so far is always saved, so the best
    // checkpoint really is the best evaluated model.
    const bool new_best =
        keep_best && evaluated && (!state_.best_metric || *state_.eval_loss < *state_.best_metric);
    // The stop signal as summed over ranks: a forwarded SIGTERM may reach them in different
    // updates, and all must stop after the same one.
    const bool stopping = s.stop_signal != 0;
    if (periodic || new_best || (stopping && !last)) {
      const std::string path = save(evaluated);
      progress.line(fmt::format("[train] saved {}", path));
    }
    if (stopping && !last) {
      result.stop_signal = s.stop_signal;
      break;
    }
  }

  if (state_.step >= state_.total_steps && ck.save_final) {
    result.final_dir = join_path(ck.output_dir, "final");
    if (is_main_rank()) {
      result.final_dir = save_final(ck.output_dir, objective_, state_);
      progress.line(fmt::format("[train] saved {}", result.final_dir));
    }
    communicator_->barrier("barrier after writing final/");
  }
  progress.finish();
  if (world_size() > 1) {
    const GradientSyncStats& sync = data_parallel_->stats();
    spdlog::info(
        "[train] gradient all-reduce: {} collectives ({:.1f} MB), {} launched during backward; "
        "{:.2f} s exposed in synchronize_gradients ({:.1f} % of {:.2f} s of updates), {:.2f} s "
        "in backward hooks",
        sync.collectives, static_cast<double>(sync.bytes_reduced) / (1024.0 * 1024.0),
        sync.launched_during_backward, sync.sync_seconds,
        update_seconds > 0 ? 100.0 * sync.sync_seconds / update_seconds : 0.0, update_seconds,
        sync.hook_seconds);
  }
  result.steps = state_.step;
  result.last_checkpoint = last_checkpoint_;
  return result;
}

}  // namespace adallava::train
