#include "train/distributed/env.h"

#include <cerrno>
#include <cstdlib>

#include <fmt/format.h>

#include "common/error.h"

namespace adallava::train {
namespace {

using Lookup = std::function<std::optional<std::string>(const std::string&)>;

long parse_integer(const std::string& name, const std::string& text, long min, long max) {
  errno = 0;
  char* end = nullptr;
  const long value = std::strtol(text.c_str(), &end, 10);
  const bool whole = !text.empty() && end == text.c_str() + text.size();
  ADALLAVA_CHECK(whole && errno == 0,
                 "environment variable {}='{}' is not an integer (torchrun-style launch: RANK, "
                 "WORLD_SIZE, LOCAL_RANK and MASTER_PORT are integers)",
                 name, text);
  ADALLAVA_CHECK(value >= min && value <= max,
                 "environment variable {}={} is out of range [{}, {}]", name, value, min, max);
  return value;
}

std::string required(const Lookup& lookup, const std::string& name, const std::string& why) {
  auto value = lookup(name);
  ADALLAVA_CHECK(value.has_value() && !value->empty(),
                 "environment variable {} is not set but {} (a torchrun-style launch sets RANK, "
                 "WORLD_SIZE, MASTER_ADDR and MASTER_PORT; or use --nproc-per-node)",
                 name, why);
  return *value;
}

}  // namespace

std::string DistributedEnv::describe() const {
  return fmt::format("rank {}/{}", rank, world_size);
}

DistributedEnv DistributedEnv::from_lookup(const Lookup& lookup) {
  DistributedEnv env;
  const auto world_text = lookup("WORLD_SIZE");
  const auto rank_text = lookup("RANK");
  if (!world_text && !rank_text) return env;  // not launched as a job: one process

  const std::string world = required(lookup, "WORLD_SIZE", "RANK is");
  // 2^20 ranks is far beyond any Gloo job; the bound only rejects garbage.
  env.world_size = static_cast<int>(parse_integer("WORLD_SIZE", world, 1, 1 << 20));
  const std::string rank = required(lookup, "RANK", "WORLD_SIZE is");
  env.rank = static_cast<int>(parse_integer("RANK", rank, 0, env.world_size - 1));
  env.local_rank = env.rank;
  if (auto local = lookup("LOCAL_RANK"); local && !local->empty()) {
    env.local_rank = static_cast<int>(parse_integer("LOCAL_RANK", *local, 0, env.world_size - 1));
  }
  if (env.world_size == 1) return env;  // nothing to connect to

  const std::string why = fmt::format("WORLD_SIZE={} needs a rendezvous", env.world_size);
  env.master_addr = required(lookup, "MASTER_ADDR", why);
  env.master_port = static_cast<int>(
      parse_integer("MASTER_PORT", required(lookup, "MASTER_PORT", why), 1, 65535));
  return env;
}

DistributedEnv DistributedEnv::from_environment() {
  return from_lookup([](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (!value) return std::nullopt;
    return std::string(value);
  });
}

}  // namespace adallava::train
