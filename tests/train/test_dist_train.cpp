// `adallava train --nproc-per-node 2` end to end on 127.0.0.1 with the golden tiny LLaVA:
// two data-parallel ranks reach the same weights as one process with the same global batch;
// a rank killed mid-run makes the launcher fail without hanging, the last complete checkpoint
// loads, and two ranks resume from it to the same final weights.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <catch2/catch.hpp>

#include "common/files.h"
#include "data_fixture.h"
#include "io/weights.h"
#include "model/loader.h"
#include "support/paths.h"
#include "train/checkpoint.h"
#include "train_fixture.h"

using namespace adallava;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

// Float sums over differently split batches and all-reduced gradients differ in rounding only.
constexpr double kWeightTolerance = 1e-5;
constexpr int kTimeoutSeconds = 15;

// 12 records (every 4th text-only, answers of different lengths so the ranks hold different
// token counts): 6 micro-batches of 2 per epoch; global batch 4 -> 3 updates per epoch, 6 in all,
// as one process (accumulation 2) or as 2 ranks (accumulation 1).
std::string write_recipe(const std::string& dir) {
  test::write_tiny_instruction_set(join_path(dir, "train.jsonl"), 12,
                                   {"A red square.", "Two circles and a long blue line.", "Yes.",
                                    "It is blue.", "Three small green triangles near the top."});
  // 7 evaluation records: the sampler pads rank 1's shard with a repeat of record 0.
  std::ifstream all(join_path(dir, "train.jsonl"));
  std::ofstream eval(join_path(dir, "eval.jsonl"));
  std::string line;
  for (int i = 0; i < 7 && std::getline(all, line); ++i) eval << line << "\n";
  eval.close();
  const std::string recipe = join_path(dir, "recipe.yaml");
  std::ofstream y(recipe);
  y << "model:\n  init: " << test::tiny_checkpoint() << "\n"
    << "  conv_template: vicuna_v1\n"
    << "data:\n  train: " << join_path(dir, "train.jsonl") << "\n"
    << "  image_folder: " << test::golden("llava-tiny/ref") << "\n"
    << "  max_length: 256\n  num_workers: 0\n"
    << "optimizer:\n  lr: 1e-3\n"
    << "schedule:\n  global_batch_size: 4\n  micro_batch_size: 2\n  epochs: 2\n"
    << "checkpointing:\n  save_every: 1u\n"
    << "logging:\n  log_every: 1u\n  progress: off\n"
    << "distributed:\n  timeout_seconds: " << kTimeoutSeconds << "\n"
    << "threads: 1\n";
  return recipe;
}

std::string train_args(const std::string& recipe, const std::string& out, int nproc) {
  std::string args = "train --config " + recipe + " checkpointing.output_dir=" + out;
  if (nproc > 1) args += " --nproc-per-node " + std::to_string(nproc);
  return args;
}

double weight_diff(const std::string& a, const std::string& b) {
  auto ma = model::load_llava(a);
  auto mb = model::load_llava(b);
  return test::max_param_diff(*ma.model, *mb.model);
}

std::vector<nlohmann::json> metrics_lines(const std::string& run_dir) {
  std::vector<nlohmann::json> lines;
  std::ifstream in(join_path(run_dir, "metrics.jsonl"));
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

// The child of `parent` whose environment has RANK=<rank>, or -1.
pid_t find_rank(pid_t parent, int rank) {
  const std::string wanted = "RANK=" + std::to_string(rank);
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const auto close = text.rfind(')');
    if (close == std::string::npos) continue;
    char state = 0;
    int ppid = 0;
    if (std::sscanf(text.c_str() + close + 1, " %c %d", &state, &ppid) != 2 || ppid != parent)
      continue;
    std::ifstream environ(entry.path() / "environ");
    for (std::string var; std::getline(environ, var, '\0');)
      if (var == wanted) return static_cast<pid_t>(std::stoi(name));
  }
  return -1;
}

}  // namespace

TEST_CASE("2 ranks train to the weights of one process with the same global batch") {
  const std::string dir = test::scratch_dir("dist-train-equal");
  const std::string recipe = write_recipe(dir);
  const std::string single = join_path(dir, "single"), dp = join_path(dir, "dp");
  const std::string with_eval =
      " data.eval=" + join_path(dir, "eval.jsonl") + " schedule.eval_every=3u";

  auto r = test::run_adallava(train_args(recipe, single, 1) + with_eval);
  INFO(r.output);
  REQUIRE(r.code == 0);
  r = test::run_adallava(train_args(recipe, dp, 2) + with_eval);
  INFO(r.output);
  REQUIRE(r.code == 0);

  // Training moved the weights by far more than the tolerance, so equality is not vacuous.
  CHECK(weight_diff(join_path(single, "final"), test::tiny_checkpoint()) > 100 * kWeightTolerance);
  CHECK(weight_diff(join_path(single, "final"), join_path(dp, "final")) <= kWeightTolerance);

  // Only rank 0 logs metrics: one line per update with the global token-mean loss, and one per
  // evaluation (after updates 3 and 6) over both shards without the padding repeat, with its
  // token accuracy.
  const auto a = metrics_lines(single), b = metrics_lines(dp);
  REQUIRE(a.size() == 8);
  REQUIRE(b.size() == 8);
  for (size_t i = 0; i < a.size(); ++i) {
    INFO("metrics line " << i << ": " << a[i].dump() << " vs " << b[i].dump());
    CHECK(b[i]["step"] == a[i]["step"]);
    const char* loss = a[i].contains("eval_loss") ? "eval_loss" : "loss";
    REQUIRE(b[i].contains(loss));
    CHECK(b[i][loss].get<double>() == Approx(a[i][loss].get<double>()).epsilon(1e-5));
    if (a[i].contains("eval_loss")) {  // hits and totals summed over the ranks, then divided
      REQUIRE(b[i].contains("eval_token_accuracy"));
      CHECK(b[i]["eval_token_accuracy"].get<double>() ==
            Approx(a[i]["eval_token_accuracy"].get<double>()).epsilon(1e-9));
    }
    if (a[i].contains("loss_tokens")) {
      CHECK(b[i]["loss_tokens"] == a[i]["loss_tokens"]);
      CHECK(b[i]["samples"] == a[i]["samples"]);
    }
  }

  // Checkpoints carry every rank's loader position and RNG state.
  const std::string ckpt = join_path(dp, "checkpoint-6");
  const auto state = train::load_trainer_state(ckpt);
  CHECK(state.world_size == 2);
  CHECK(state.rank_loader_positions.size() == 2);
  const auto rng = io::load_safetensors(join_path(ckpt, "rng_state.safetensors"));
  CHECK(rng.count("trainer_rng.rank1") == 1);
  CHECK_FALSE(torch::equal(rng.at("trainer_rng"), rng.at("trainer_rng.rank1")));
}

TEST_CASE("a killed rank stops the job with an error; 2 ranks resume from the last checkpoint") {
  const std::string dir = test::scratch_dir("dist-train-kill");
  const std::string recipe = write_recipe(dir);
  const std::string run = join_path(dir, "run"), reference = join_path(dir, "single");
  const std::string log = join_path(dir, "launcher.log");

  const pid_t launcher = fork();
  REQUIRE(launcher >= 0);
  if (launcher == 0) {
    FILE* f = freopen(log.c_str(), "w", stderr);
    (void)f;
    dup2(fileno(stderr), STDOUT_FILENO);
    const std::string bin = test::adallava_bin(), out = "checkpointing.output_dir=" + run;
    execl(bin.c_str(), bin.c_str(), "train", "--config", recipe.c_str(), out.c_str(),
          "--nproc-per-node", "2", static_cast<char*>(nullptr));
    _exit(127);
  }
  // Kill rank 1 as soon as the first checkpoint is complete (5 updates remain); its pid is
  // looked up before, so the kill follows the checkpoint within a polling period.
  const auto deadline = Clock::now() + std::chrono::seconds(120);
  pid_t rank1 = -1;
  while (Clock::now() < deadline && (rank1 = find_rank(launcher, 1)) < 0)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  while (Clock::now() < deadline && train::list_checkpoints(run).empty())
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  INFO(read_text_file(log));
  REQUIRE(rank1 > 0);
  REQUIRE(kill(rank1, SIGKILL) == 0);

  // Rank 0 notices at its next collective (the peer's sockets close); the launcher must exit
  // non-zero well before time-out + grace period instead of hanging.
  int raw = 0;
  const auto give_up = Clock::now() + std::chrono::seconds(2 * kTimeoutSeconds + 10);
  pid_t done = 0;
  while ((done = waitpid(launcher, &raw, WNOHANG)) == 0 && Clock::now() < give_up)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  if (done == 0) {
    kill(launcher, SIGKILL);
    waitpid(launcher, &raw, 0);
  }
  const std::string output = read_text_file(log);
  INFO(output);
  REQUIRE(done == launcher);
  REQUIRE(WIFEXITED(raw));
  CHECK(WEXITSTATUS(raw) != 0);
  CHECK_THAT(output, Catch::Contains("rank 1"));
  CHECK_FALSE(fs::exists(join_path(run, "final")));

  // The newest complete checkpoint loads like any model and is a resumable training state.
  const std::string last = train::resolve_resume("auto", run);
  REQUIRE_FALSE(last.empty());
  CHECK(model::load_llava(last).model->config.text.vocab_size == 512);
  CHECK(train::load_trainer_state(last).step >= 1);

  // Resuming with 2 ranks finishes the schedule at the weights of an uninterrupted single
  // process run.
  auto r = test::run_adallava(train_args(recipe, run, 2) + " --resume auto");
  INFO(r.output);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.output, Catch::Contains("resumed from"));
  r = test::run_adallava(train_args(recipe, reference, 1));
  INFO(r.output);
  REQUIRE(r.code == 0);
  CHECK(weight_diff(join_path(run, "final"), join_path(reference, "final")) <= kWeightTolerance);
}

TEST_CASE("--nproc-per-node: the recipe is checked for the job's world size before ranks start") {
  const std::string dir = test::scratch_dir("dist-train-config");
  const std::string recipe = write_recipe(dir);
  // Global batch 4 is not a multiple of micro batch 2 x 3 ranks.
  auto r = test::run_adallava(train_args(recipe, join_path(dir, "run"), 3));
  INFO(r.output);
  CHECK(r.code == 1);
  CHECK_THAT(r.output,
             Catch::Contains("schedule.global_batch_size") && Catch::Contains("world size 3"));
  CHECK_THAT(r.output, !Catch::Contains("[launcher] started"));
  CHECK_FALSE(fs::exists(join_path(dir, "run")));
}
