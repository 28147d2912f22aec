#include "train/checkpoint.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <regex>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "common/error.h"
#include "common/files.h"
#include "io/weights.h"

namespace adallava::train {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const char* kStateFile = "trainer_state.json";
const char* kOptimizerFile = "optimizer.safetensors";
const char* kRngFile = "rng_state.safetensors";

// Writes into a temporary sibling directory, then renames it over `final_dir`.
template <typename Fill>
std::string write_dir_atomically(const std::string& final_dir, const Fill& fill) {
  const std::string tmp = fmt::format("{}.tmp-{}", final_dir, static_cast<long>(::getpid()));
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp);
  try {
    fill(tmp);
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
  // A directory cannot be renamed over a non-empty one: move the old one aside first, so at
  // every moment either the old or the new complete checkpoint exists under some name.
  const std::string old = final_dir + ".old";
  fs::remove_all(old, ec);
  if (fs::exists(final_dir)) fs::rename(final_dir, old);
  fs::rename(tmp, final_dir, ec);
  if (ec) fail("{}: cannot rename from {}: {}", final_dir, tmp, ec.message());
  fs::remove_all(old, ec);
  return final_dir;
}

json optional_number(const std::optional<double>& v) {
  return v ? json(*v) : json(nullptr);
}

template <typename T>
T get(const json& j, const char* key, const std::string& source) {
  if (!j.contains(key)) fail("{}: missing key '{}'", source, key);
  try {
    return j.at(key).get<T>();
  } catch (const json::exception&) {
    fail("{}: key '{}' has the wrong type ({})", source, key, j.at(key).dump());
  }
}

void write_state_json(const std::string& dir, const TrainerState& state) {
  write_text_file_atomic(join_path(dir, kStateFile), state.to_json().dump(2) + "\n");
}

}  // namespace

json TrainerState::to_json() const {
  return {{"format", "adallava-trainer-state-1"},
          {"step", step},
          {"epoch", epoch},
          {"update_in_epoch", update_in_epoch},
          {"total_steps", total_steps},
          {"warmup_steps", warmup_steps},
          {"updates_per_epoch", updates_per_epoch},
          {"world_size", world_size},
          {"samples_seen", samples_seen},
          {"tokens_seen", tokens_seen},
          {"loader_position", loader_position},
          {"rank_loader_positions", rank_loader_positions},
          {"best_metric", optional_number(best_metric)},
          {"best_checkpoint", best_checkpoint},
          {"eval_loss", optional_number(eval_loss)}};
}

TrainerState TrainerState::from_json(const json& j, const std::string& source) {
  if (!j.is_object()) fail("{}: expected a JSON object", source);
  TrainerState s;
  s.step = get<int64_t>(j, "step", source);
  s.epoch = get<int64_t>(j, "epoch", source);
  s.update_in_epoch = get<int64_t>(j, "update_in_epoch", source);
  s.total_steps = get<int64_t>(j, "total_steps", source);
  s.warmup_steps = get<int64_t>(j, "warmup_steps", source);
  s.updates_per_epoch = get<int64_t>(j, "updates_per_epoch", source);
  s.world_size = j.contains("world_size") ? get<int64_t>(j, "world_size", source) : 1;
  s.samples_seen = get<int64_t>(j, "samples_seen", source);
  s.tokens_seen = get<int64_t>(j, "tokens_seen", source);
  s.loader_position = j.value("loader_position", json());
  if (j.contains("rank_loader_positions")) {
    const json& positions = j["rank_loader_positions"];
    if (!positions.is_array())
      fail("{}: key 'rank_loader_positions' must be a list, got {}", source, positions.dump());
    s.rank_loader_positions.assign(positions.begin(), positions.end());
  }
  if (j.contains("best_metric") && !j["best_metric"].is_null())
    s.best_metric = get<double>(j, "best_metric", source);
  s.best_checkpoint = j.value("best_checkpoint", std::string());
  if (j.contains("eval_loss") && !j["eval_loss"].is_null())
    s.eval_loss = get<double>(j, "eval_loss", source);
  return s;
}

RngStates capture_rng_states(at::Generator& rng) {
  RngStates states;
  {
    std::lock_guard<std::mutex> lock(rng.mutex());
    states.trainer = rng.get_state();
  }
  auto default_gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(default_gen.mutex());
  states.default_cpu = default_gen.get_state();
  return states;
}

std::string save_checkpoint(const std::string& output_dir, TrainingObjective& objective,
                            const AdamW& optimizer, at::Generator& rng, const TrainerState& state,
                            const std::vector<RngStates>& rank_rng) {
  const std::string dir = join_path(output_dir, fmt::format("checkpoint-{}", state.step));
  return write_dir_atomically(dir, [&](const std::string& tmp) {
    objective.save_weights(tmp);
    io::save_safetensors(join_path(tmp, kOptimizerFile), optimizer.state());
    io::StateDict rng_state;
    const RngStates own = capture_rng_states(rng);
    rng_state["trainer_rng"] = own.trainer;
    rng_state["default_cpu_rng"] = own.default_cpu;
    for (size_t rank = 1; rank < rank_rng.size(); ++rank) {
      rng_state[fmt::format("trainer_rng.rank{}", rank)] = rank_rng[rank].trainer;
      rng_state[fmt::format("default_cpu_rng.rank{}", rank)] = rank_rng[rank].default_cpu;
    }
    io::save_safetensors(join_path(tmp, kRngFile), rng_state);
    write_state_json(tmp, state);  // last: its presence marks a complete checkpoint
  });
}

std::string save_final(const std::string& output_dir, TrainingObjective& objective,
                       const TrainerState& state) {
  const std::string dir = join_path(output_dir, "final");
  return write_dir_atomically(dir, [&](const std::string& tmp) {
    objective.save_weights(tmp);
    write_state_json(tmp, state);
  });
}

TrainerState load_trainer_state(const std::string& checkpoint_dir) {
  const std::string path = join_path(checkpoint_dir, kStateFile);
  if (!file_exists(path)) fail("{}: not a training checkpoint (no {})", checkpoint_dir, kStateFile);
  return TrainerState::from_json(read_json_file(path), path);
}

void load_optimizer_state(const std::string& checkpoint_dir, AdamW& optimizer) {
  const std::string path = join_path(checkpoint_dir, kOptimizerFile);
  if (!file_exists(path))
    fail("{}: no optimizer state (a final/ directory cannot be resumed; use a checkpoint-<step>)",
         path);
  optimizer.load_state(io::load_safetensors(path), path);
}

bool load_rng_state(const std::string& checkpoint_dir, at::Generator& rng, int rank) {
  const std::string path = join_path(checkpoint_dir, kRngFile);
  if (!file_exists(path)) fail("{}: missing RNG state", path);
  auto states = io::load_safetensors(path);
  for (const char* key : {"trainer_rng", "default_cpu_rng"})
    if (!states.count(key)) fail("{}: missing tensor '{}'", path, key);
  const std::string suffix = rank == 0 ? "" : fmt::format(".rank{}", rank);
  const std::string trainer_key = "trainer_rng" + suffix;
  const std::string default_key = "default_cpu_rng" + suffix;
  if (!states.count(trainer_key) || !states.count(default_key)) return false;
  {
    std::lock_guard<std::mutex> lock(rng.mutex());
    rng.set_state(states[trainer_key]);
  }
  auto default_gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(default_gen.mutex());
  default_gen.set_state(states[default_key]);
  return true;
}

std::vector<std::pair<int64_t, std::string>> list_checkpoints(const std::string& output_dir) {
  std::vector<std::pair<int64_t, std::string>> out;
  if (!dir_exists(output_dir)) return out;
  static const std::regex name_re("^checkpoint-(\\d+)$");
  for (const auto& entry : fs::directory_iterator(output_dir)) {
    if (!entry.is_directory()) continue;
    const std::string name = entry.path().filename().string();
    std::smatch m;
    if (!std::regex_match(name, m, name_re)) continue;
    if (!file_exists((entry.path() / kStateFile).string())) continue;
    out.emplace_back(std::stoll(m[1]), entry.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string resolve_resume(const std::string& resume, const std::string& output_dir) {
  if (resume == "auto") {
    auto all = list_checkpoints(output_dir);
    return all.empty() ? "" : all.back().second;
  }
  if (!dir_exists(resume)) fail("checkpointing.resume {}: no such directory", resume);
  if (!file_exists(join_path(resume, kStateFile)))
    fail("checkpointing.resume {}: not a training checkpoint (no {})", resume, kStateFile);
  return resume;
}

std::vector<std::string> rotate_checkpoints(const std::string& output_dir, int64_t keep_last_n,
                                            const std::string& keep) {
  std::vector<std::string> deleted;
  if (keep_last_n <= 0) return deleted;
  auto all = list_checkpoints(output_dir);
  const int64_t excess = static_cast<int64_t>(all.size()) - keep_last_n;
  for (int64_t i = 0; i < excess; ++i) {
    const std::string& path = all[i].second;
    if (!keep.empty() && fs::path(path).filename() == keep) continue;
    std::error_code ec;
    fs::remove_all(path, ec);
    if (ec) fail("{}: cannot delete an old checkpoint: {}", path, ec.message());
    deleted.push_back(path);
  }
  return deleted;
}

}  // namespace adallava::train
