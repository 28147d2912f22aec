// `adallava train` end to end: config errors, --dump-config, a short run on a tiny JSONL data set
// whose final checkpoint loads, --resume auto, and SIGTERM saving a resumable checkpoint.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <catch2/catch.hpp>

#include "common/files.h"
#include "model/loader.h"
#include "support/paths.h"
#include "train/checkpoint.h"
#include "train_fixture.h"

using namespace adallava;
namespace fs = std::filesystem;

namespace {

struct CliResult {
  int status = -1;
  std::string out;  // stdout and stderr together
};

CliResult run_cli(const std::string& args) {
  const std::string cmd = test::adallava_bin() + " " + args + " 2>&1";
  CliResult r;
  FILE* pipe = popen(cmd.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, pipe)) r.out.append(buf, n);
  const int raw = pclose(pipe);
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return r;
}

// A tiny instruction data set over the golden test image, and a recipe training the golden tiny
// LLaVA on it.
std::string write_fixture(const std::string& dir, const std::string& extra = "") {
  test::write_tiny_instruction_set(
      join_path(dir, "train.jsonl"), 8,
      {"A red square.", "Two circles.", "Yes.", "It is blue.", "Three."});
  const std::string recipe = join_path(dir, "recipe.yaml");
  std::ofstream y(recipe);
  y << "model:\n  init: " << test::golden("llava-tiny/llava15_orig") << "\n"
    << "  conv_template: vicuna_v1\n"
    << "data:\n  train: " << join_path(dir, "train.jsonl") << "\n"
    << "  image_folder: " << test::golden("llava-tiny/ref") << "\n"
    << "  max_length: 256\n  num_workers: 0\n"
    << "optimizer:\n  lr: 1e-3\n"
    << "schedule:\n  global_batch_size: 4\n  micro_batch_size: 2\n  epochs: 2\n"
    << "checkpointing:\n  output_dir: " << join_path(dir, "run") << "\n  save_every: 1u\n"
    << "logging:\n  log_every: 1u\n  progress: off\n"
    << "threads: 1\n"
    << extra;
  return recipe;
}

}  // namespace

TEST_CASE("adallava train: config errors name the key and the file") {
  const std::string dir = test::scratch_dir("train-cli-errors");
  const std::string recipe = write_fixture(dir);
  auto r = run_cli("train --config " + recipe + " optimizer.weight_decai=0.1");
  CHECK(r.status == 1);
  CHECK_THAT(r.out, Catch::Contains("optimizer.weight_decai") && Catch::Contains("weight_decay"));
  r = run_cli("train --config " + recipe + " optimizer.lr=fast");
  CHECK(r.status == 1);
  CHECK_THAT(r.out, Catch::Contains("optimizer.lr") && Catch::Contains("fast"));
  r = run_cli("train --config " + join_path(dir, "missing.yaml"));
  CHECK(r.status == 1);
  CHECK_THAT(r.out, Catch::Contains("missing.yaml"));
  r = run_cli("train --config " + recipe + " not-an-override");
  CHECK(r.status == 1);
  CHECK_THAT(r.out, Catch::Contains("not-an-override"));
  // A bad model.init surfaces from the model loader with its path.
  r = run_cli("train --config " + recipe + " model.init=" + join_path(dir, "nowhere"));
  CHECK(r.status == 1);
  CHECK_THAT(r.out, Catch::Contains("nowhere"));
}

TEST_CASE("adallava train --dump-config prints the resolved config and exits") {
  const std::string dir = test::scratch_dir("train-cli-dump");
  const std::string recipe = write_fixture(dir);
  auto r = run_cli("train --config " + recipe + " optimizer.lr=5e-4 --dump-config");
  CHECK(r.status == 0);
  CHECK_THAT(r.out, Catch::Contains("lr: 0.0005") || Catch::Contains("lr: 5e-4") ||
                        Catch::Contains("lr: 5e-04"));
  CHECK_FALSE(fs::exists(join_path(dir, "run")));
}

TEST_CASE("adallava train runs, writes the run directory, resumes with --resume auto") {
  const std::string dir = test::scratch_dir("train-cli-run");
  const std::string recipe = write_fixture(dir);
  auto r = run_cli("train --config " + recipe);
  INFO(r.out);
  REQUIRE(r.status == 0);
  const std::string run = join_path(dir, "run");
  CHECK(file_exists(join_path(run, "config.yaml")));
  CHECK(file_exists(join_path(run, "metrics.jsonl")));
  CHECK(file_exists(join_path(run, "checkpoint-4/optimizer.safetensors")));  // 2 per epoch x 2
  auto loaded = model::load_llava(join_path(run, "final"));
  CHECK(loaded.model->config.text.vocab_size == 512);
  // The run directory's config repeats the run; resuming a finished run does nothing more.
  r = run_cli("train --config " + join_path(run, "config.yaml") + " --resume auto");
  INFO(r.out);
  CHECK(r.status == 0);
  CHECK_THAT(r.out, Catch::Contains("resumed from") && Catch::Contains("checkpoint-4"));
}

TEST_CASE("SIGTERM: the run saves a checkpoint that loads and exits non-zero") {
  const std::string dir = test::scratch_dir("train-cli-signal");
  const std::string recipe = write_fixture(dir, "");
  const std::string log = join_path(dir, "log.txt");
  const std::string bin = test::adallava_bin();
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    FILE* f = freopen(log.c_str(), "w", stderr);
    (void)f;
    dup2(fileno(stderr), STDOUT_FILENO);
    execl(bin.c_str(), bin.c_str(), "train", "--config", recipe.c_str(),
          "schedule.max_steps=100000", "checkpointing.save_every=never", (char*)nullptr);
    _exit(127);
  }
  // Wait for the first logged update, then ask it to stop.
  const std::string metrics = join_path(dir, "run/metrics.jsonl");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    if (file_exists(metrics) && !read_text_file(metrics).empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid, SIGTERM);
  int raw = 0;
  waitpid(pid, &raw, 0);
  const std::string output = file_exists(log) ? read_text_file(log) : "";
  INFO(output);
  REQUIRE(WIFEXITED(raw));
  CHECK(WEXITSTATUS(raw) == 128 + SIGTERM);
  CHECK_THAT(output, Catch::Contains("stopped by signal"));
  const std::string ckpt = train::resolve_resume("auto", join_path(dir, "run"));
  REQUIRE_FALSE(ckpt.empty());
  auto loaded = model::load_llava(ckpt);
  CHECK(train::load_trainer_state(ckpt).step >= 1);
}
