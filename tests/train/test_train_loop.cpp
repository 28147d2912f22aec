// The training loop on the golden tiny LLaVA: loss goes down, gradient accumulation equals one
// big batch, resume is bit-identical, checkpoints load with model::load_llava, rotation, stop.
#include <csignal>
#include <filesystem>

#include <catch2/catch.hpp>

#include "common/files.h"
#include "train/checkpoint.h"
#include "train/precision.h"
#include "train/signals.h"
#include "train/trainer.h"
#include "train_fixture.h"

using namespace adallava;
using namespace adallava::train;
using adallava::test::make_batches;
using adallava::test::tiny_config;
using adallava::test::tiny_objective;
using adallava::test::VectorStream;

namespace fs = std::filesystem;

TEST_CASE("a few updates lower the loss on the tiny model") {
  torch::set_num_threads(1);
  const std::string out = test::scratch_dir("train-loss");
  auto cfg = tiny_config(out, {"schedule.max_steps=12", "schedule.lr_schedule=constant"});
  auto objective = tiny_objective();
  auto batches = make_batches(4, 2, 7);
  VectorStream stream(batches);
  Trainer trainer(cfg, objective, stream, [&] { return std::make_unique<VectorStream>(batches); });
  const double before = trainer.evaluate().loss;
  TrainResult result = trainer.run();
  const double after = trainer.evaluate().loss;
  INFO("eval loss before " << before << " after " << after);
  CHECK(result.steps == 12);
  CHECK(after < before - 0.5);  // random-init tiny model memorising 8 samples: ~6.2 -> < 5.7
  CHECK(file_exists(join_path(out, "final/model.safetensors")));
  CHECK(file_exists(join_path(out, "metrics.jsonl")));
  // metrics.jsonl: one line per update (log_every 1u) with the documented keys.
  auto lines = read_text_file(join_path(out, "metrics.jsonl"));
  auto first = nlohmann::json::parse(lines.substr(0, lines.find('\n')));
  for (const char* key :
       {"step", "epoch", "loss", "lr", "grad_norm", "tokens_per_s", "samples_per_s"})
    CHECK(first.contains(key));
  CHECK(first["step"] == 1);
  CHECK(first["lr"].get<double>() == 0.0);  // warmup_steps 1: the first update runs at lr 0
}

TEST_CASE("gradient accumulation gives the update of one big batch (token-weighted)") {
  torch::set_num_threads(1);
  auto micro = make_batches(2, 2, 11);
  // Accumulating 2 micro-batches of 2 ...
  auto cfg_a = tiny_config(test::scratch_dir("train-accum-a"),
                           {"schedule.max_steps=1", "schedule.warmup_steps=0",
                            "optimizer.grad_clip=0", "checkpointing.save_final=false"});
  auto obj_a = tiny_objective();
  VectorStream stream_a(micro);
  Trainer trainer_a(cfg_a, obj_a, stream_a);
  CHECK(trainer_a.accumulation_steps() == 2);
  trainer_a.run();
  // ... against one micro-batch of 4.
  auto cfg_b =
      tiny_config(test::scratch_dir("train-accum-b"),
                  {"schedule.max_steps=1", "schedule.warmup_steps=0", "optimizer.grad_clip=0",
                   "checkpointing.save_final=false", "schedule.micro_batch_size=4"});
  auto obj_b = tiny_objective();
  VectorStream stream_b({test::merge(micro)});
  Trainer trainer_b(cfg_b, obj_b, stream_b);
  CHECK(trainer_b.accumulation_steps() == 1);
  trainer_b.run();
  // After one update exp_avg = (1 - beta1) * gradient: compare the gradients themselves (Adam's
  // first step is ~lr * sign(g), which hides the weighting). Float32 summation order differs
  // (padding, partial sums), so relative 1e-4; averaging the two micro-batch means instead of
  // pooling their tokens changes it by percents (11 vs 10 loss tokens here).
  auto ga = trainer_a.optimizer().state();
  auto gb = trainer_b.optimizer().state();
  REQUIRE(ga.size() == gb.size());
  double worst = 0, scale = 0;
  for (const auto& [name, t] : ga) {
    if (name.rfind("exp_avg.", 0) != 0) continue;
    worst = std::max(worst, test::max_abs_diff(t, gb.at(name)));
    scale = std::max(scale, gb.at(name).abs().max().item<double>());
  }
  INFO("max |g_a - g_b| = " << worst << ", max |g| = " << scale);
  CHECK(worst < 1e-4 * scale);
}

TEST_CASE("N updates straight equal N/2 + resume + N/2, bit for bit") {
  torch::set_num_threads(1);
  auto batches = make_batches(3, 2, 5);  // 3 micro-batches/epoch, accumulation 2: 1 update/epoch
  const std::string out = test::scratch_dir("train-resume");
  auto cfg = tiny_config(out, {"schedule.max_steps=6", "schedule.warmup_steps=2",
                               "checkpointing.save_every=3u", "optimizer.weight_decay=0.1"});
  auto straight = tiny_objective();
  VectorStream stream(batches);
  Trainer trainer(cfg, straight, stream);
  CHECK(trainer.state().updates_per_epoch == 1);
  trainer.run();
  REQUIRE(file_exists(join_path(out, "checkpoint-3/trainer_state.json")));

  auto resumed = tiny_objective();
  VectorStream stream2(batches);
  const std::string out2 = test::scratch_dir("train-resume-2");
  auto cfg2 = tiny_config(out2, {"schedule.max_steps=6", "schedule.warmup_steps=2",
                                 "checkpointing.save_every=3u", "optimizer.weight_decay=0.1"});
  Trainer trainer2(cfg2, resumed, stream2);
  trainer2.resume(join_path(out, "checkpoint-3"));
  CHECK(trainer2.state().step == 3);
  CHECK(stream2.epoch_ == 3);  // the loader position came back
  trainer2.run();
  CHECK(test::max_param_diff(straight.module(), resumed.module()) == 0.0);
  // Same optimizer moments too.
  auto sa = trainer.optimizer().state();
  auto sb = trainer2.optimizer().state();
  REQUIRE(sa.size() == sb.size());
  for (const auto& [name, t] : sa) CHECK(torch::equal(t, sb.at(name)));
}

TEST_CASE("a checkpoint loads with model::load_llava and gives identical logits") {
  torch::set_num_threads(1);
  const std::string out = test::scratch_dir("train-ckpt");
  auto cfg = tiny_config(out, {"schedule.max_steps=2"});
  auto objective = tiny_objective();
  auto batches = make_batches(2, 2, 3);
  VectorStream stream(batches);
  Trainer(cfg, objective, stream).run();
  const std::string final_dir = join_path(out, "final");
  for (const char* f :
       {"config.json", "model.safetensors", "tokenizer.model", "tokenizer_config.json",
        "preprocessor_config.json", "vision_tower/config.json", "vision_tower/model.safetensors",
        "trainer_state.json"})
    CHECK(file_exists(join_path(final_dir, f)));
  auto config = read_json_file(join_path(final_dir, "config.json"));
  CHECK(config["mm_vision_tower"] == "vision_tower");  // the tower was trained: stored here
  auto loaded = model::load_llava(final_dir);
  objective.module().eval();
  auto expected = test::batch_logits(objective.model(), batches[0]);
  auto got = test::batch_logits(loaded.model, batches[0]);
  CHECK(test::max_abs_diff(expected, got) == 0.0);
  CHECK(loaded.preprocess.crop_height == 112);
}

TEST_CASE("a frozen pretrained tower is referenced, not copied") {
  torch::set_num_threads(1);
  const std::string out = test::scratch_dir("train-frozen-tower");
  auto cfg = tiny_config(out, {"schedule.max_steps=1", "trainable.vision_tower=false"});
  auto loaded = model::load_llava(test::tiny_checkpoint());
  train::CheckpointAssets assets;
  assets.tokenizer_model = loaded.tokenizer_path;
  assets.external_vision_tower = loaded.vision_tower_dir;
  LlavaObjective objective(loaded.model, assets);
  auto tower_before = objective.model()->model->vision_tower->parameters()[0].clone();
  auto batches = make_batches(2, 2, 4);
  VectorStream stream(batches);
  Trainer(cfg, objective, stream).run();
  CHECK(torch::equal(tower_before, objective.model()->model->vision_tower->parameters()[0]));
  const std::string final_dir = join_path(out, "final");
  CHECK_FALSE(fs::exists(join_path(final_dir, "vision_tower")));
  auto config = read_json_file(join_path(final_dir, "config.json"));
  CHECK(fs::equivalent(config["mm_vision_tower"].get<std::string>(),
                       test::golden("llava-tiny/clip_vision")));
  auto reloaded = model::load_llava(final_dir);
  CHECK(test::max_param_diff(objective.module(), *reloaded.model) == 0.0);
}

TEST_CASE("keep_last_n rotation and keep_best by eval loss") {
  torch::set_num_threads(1);
  const std::string out = test::scratch_dir("train-rotate");
  auto cfg = tiny_config(out, {"schedule.max_steps=5", "checkpointing.save_every=1u",
                               "checkpointing.keep_last_n=2", "checkpointing.keep_best=eval_loss",
                               "schedule.eval_every=1u", "data.eval=unused-eval.jsonl",
                               "schedule.lr_schedule=constant", "checkpointing.save_final=false"});
  auto objective = tiny_objective();
  auto batches = make_batches(2, 2, 9);
  // Evaluation on other data: its loss is not monotone in training, the best can be old.
  auto eval_batches = make_batches(1, 2, 99);
  VectorStream stream(batches);
  Trainer trainer(cfg, objective, stream,
                  [&] { return std::make_unique<VectorStream>(eval_batches); });
  trainer.run();
  auto remaining = list_checkpoints(out);
  std::vector<int64_t> steps;
  for (auto& [s, p] : remaining) steps.push_back(s);
  const std::string best = trainer.state().best_checkpoint;
  INFO("best " << best);
  REQUIRE_FALSE(best.empty());
  CHECK(fs::exists(join_path(out, best)));
  CHECK(std::count(steps.begin(), steps.end(), 4) == 1);
  CHECK(std::count(steps.begin(), steps.end(), 5) == 1);
  CHECK(steps.size() <= 3);
  // The metrics file holds one eval line per update.
  auto text = read_text_file(join_path(out, "metrics.jsonl"));
  CHECK(std::count(text.begin(), text.end(), '\n') == 10);
}

TEST_CASE("a stop request finishes the update, saves a resumable checkpoint and reports") {
  torch::set_num_threads(1);
  const std::string out = test::scratch_dir("train-stop");
  auto cfg = tiny_config(out, {"schedule.max_steps=10"});
  auto objective = tiny_objective();
  auto batches = make_batches(2, 2, 8);
  VectorStream stream(batches);
  Trainer trainer(cfg, objective, stream);
  request_stop(SIGTERM);
  TrainResult result = trainer.run();
  request_stop(0);
  CHECK(result.stop_signal == SIGTERM);
  CHECK(result.steps == 1);
  CHECK(result.final_dir.empty());
  CHECK(resolve_resume("auto", out) == join_path(out, "checkpoint-1"));
  CHECK(load_trainer_state(join_path(out, "checkpoint-1")).step == 1);
}

TEST_CASE("bf16 autocast: matmuls in bf16, loss close to float32, master weights stay float32") {
  torch::set_num_threads(1);
  auto a = torch::randn({4, 8});
  {
    AutocastGuard guard(true);
    CHECK(torch::matmul(a, a.t()).scalar_type() == torch::kBFloat16);
  }
  CHECK(torch::matmul(a, a.t()).scalar_type() == torch::kFloat32);

  auto objective = tiny_objective();
  auto batch = make_batches(1, 2, 21)[0];
  at::Generator rng = at::detail::createCPUGenerator(0);
  const double fp32 = objective.forward(batch, rng).loss.item<double>();
  double bf16 = 0;
  {
    AutocastGuard guard(true);
    bf16 = objective.forward(batch, rng).loss.item<double>();
  }
  INFO("loss fp32 " << fp32 << " bf16 " << bf16);
  CHECK(std::abs(bf16 - fp32) < 0.05);  // bf16 has ~3 significant digits

  const std::string out = test::scratch_dir("train-bf16");
  auto cfg = tiny_config(out, {"schedule.max_steps=3", "precision.dtype=bf16"});
  VectorStream stream(make_batches(2, 2, 22));
  TrainResult result = Trainer(cfg, objective, stream).run();
  CHECK(std::isfinite(result.last_loss));
  for (const auto& p : objective.module().parameters()) CHECK(p.scalar_type() == torch::kFloat32);
}
