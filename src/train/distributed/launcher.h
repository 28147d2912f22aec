// `--nproc-per-node N`: this process becomes a launcher that starts N copies of the same binary,
// one per local rank, with the torchrun environment (RANK, LOCAL_RANK, WORLD_SIZE,
// LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT) set, forwards SIGINT/SIGTERM to them and waits.
// When a rank fails the others get a grace period to stop on their own (their collectives fail
// within the time-out), then SIGTERM, then SIGKILL.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace adallava::train {

struct LaunchOptions {
  std::string master_addr = "127.0.0.1";
  int master_port = 0;  // 0: a free port on master_addr
  // Lets the surviving ranks finish a checkpoint write and report their own error.
  std::chrono::milliseconds grace_period = std::chrono::seconds(30);
  std::chrono::milliseconds kill_after = std::chrono::seconds(5);  // from SIGTERM to SIGKILL
  // Empty: ranks share the launcher's stdout/stderr. Else each writes <log_dir>/rank_<r>.log.
  std::string log_dir;
  // Added to (or replacing in) every rank's environment.
  std::vector<std::pair<std::string, std::string>> extra_env;
};

struct RankExit {
  int rank = 0;
  int pid = 0;
  int exit_code = -1;  // when it exited normally
  int signal = 0;      // when a signal ended it
  bool signalled_by_launcher =
      false;  // the launcher had sent it SIGTERM/SIGKILL or a forwarded signal
  bool succeeded() const { return signal == 0 && exit_code == 0; }
  std::string describe() const;  // "rank 1 (pid 42) exited with status 3"
};

struct LaunchReport {
  std::vector<RankExit> ranks;
  int first_failed_rank = -1;
  int interrupted_by = 0;  // SIGINT/SIGTERM received and forwarded
};

// Starts `nproc` ranks running `argv_without_nproc` (argv[0] names the program; the executable
// is this process's own, /proc/self/exe). Returns 0 when every rank exits 0, 128 + signal when
// the launcher was interrupted; throws adallava::Error naming the first failed rank otherwise.
// `report`, when given, receives every rank's exit.
int launch_local_ranks(int nproc, const std::vector<std::string>& argv_without_nproc,
                       const LaunchOptions& options = {}, LaunchReport* report = nullptr);

// This process's command line (/proc/self/cmdline) without `option` and its value, both as
// "--opt N" and "--opt=N": what the launcher re-executes per rank.
std::vector<std::string> command_line_without_option(const std::string& option);
// The same on a given argument list.
std::vector<std::string> without_option(const std::vector<std::string>& args,
                                        const std::string& option);

// A TCP port on `host` that was free a moment ago (bound to port 0, then released).
int find_free_port(const std::string& host = "127.0.0.1");

}  // namespace adallava::train
