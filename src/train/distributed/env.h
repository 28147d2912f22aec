// Where this process sits in a data-parallel job, read from the torchrun environment variables
// (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT). No variables set means a single
// process; any inconsistency is an adallava::Error naming the variable.
#pragma once

#include <functional>
#include <optional>
#include <string>

namespace adallava::train {

struct DistributedEnv {
  int rank = 0;
  int world_size = 1;
  // Position on this machine. On CPU it only names logs, so when LOCAL_RANK is absent (a plain
  // `RANK=.. WORLD_SIZE=..` launch) it defaults to RANK.
  int local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 0;

  bool distributed() const { return world_size > 1; }
  bool is_main() const { return rank == 0; }
  // "rank 1/2" for messages.
  std::string describe() const;

  // Reads the process environment.
  static DistributedEnv from_environment();
  // Same rules over any lookup (tests pass a map); `lookup` returns nullopt for unset names.
  static DistributedEnv from_lookup(
      const std::function<std::optional<std::string>(const std::string&)>& lookup);
};

}  // namespace adallava::train
