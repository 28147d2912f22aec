#include "train/distributed/launcher.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/error.h"

extern char** environ;

namespace adallava::train {
namespace {

using Clock = std::chrono::steady_clock;

volatile sig_atomic_t g_received_signal = 0;

void record_signal(int signal) {
  g_received_signal = signal;
}

// Installs the forwarding handlers for the launcher's lifetime and restores the previous ones.
class SignalForwarding {
 public:
  SignalForwarding() {
    g_received_signal = 0;
    struct sigaction action {};
    action.sa_handler = record_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, &previous_int_);
    sigaction(SIGTERM, &action, &previous_term_);
  }
  ~SignalForwarding() {
    sigaction(SIGINT, &previous_int_, nullptr);
    sigaction(SIGTERM, &previous_term_, nullptr);
  }
  int take() {
    const int signal = g_received_signal;
    g_received_signal = 0;
    return signal;
  }

 private:
  struct sigaction previous_int_ {};
  struct sigaction previous_term_ {};
};

std::vector<std::string> rank_environment(
    const std::vector<std::pair<std::string, std::string>>& set) {
  std::vector<std::string> env;
  for (char** entry = environ; *entry; ++entry) {
    const std::string text = *entry;
    const std::string name = text.substr(0, text.find('='));
    bool replaced = false;
    for (const auto& [key, value] : set) replaced = replaced || key == name;
    if (!replaced) env.push_back(text);
  }
  for (const auto& [key, value] : set) env.push_back(key + "=" + value);
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (auto& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

struct Child {
  RankExit exit;
  bool running = true;
};

// Everything between fork and exec is async-signal-safe: the parent may have torch threads.
int spawn_rank(const std::string& executable, std::vector<char*>& argv, std::vector<char*>& envp,
               int log_fd) {
  const pid_t parent = getpid();
  const pid_t pid = fork();
  ADALLAVA_CHECK(pid >= 0, "launcher: fork failed: {}", std::strerror(errno));
  if (pid == 0) {
    // Own process group: a terminal Ctrl-C reaches only the launcher, which forwards it once.
    setpgid(0, 0);
    // A launcher killed without a chance to forward (SIGKILL) still takes its ranks down.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(128 + SIGTERM);
    if (log_fd >= 0) {
      dup2(log_fd, STDOUT_FILENO);
      dup2(log_fd, STDERR_FILENO);
    }
    execve(executable.c_str(), argv.data(), envp.data());
    const char message[] = "launcher: exec of the rank process failed\n";
    (void)!write(STDERR_FILENO, message, sizeof(message) - 1);
    _exit(127);
  }
  return pid;
}

void signal_running(std::vector<Child>& children, int signal) {
  for (auto& child : children) {
    if (!child.running) continue;
    kill(-child.exit.pid, signal);  // its process group: helpers it started go too
    kill(child.exit.pid, signal);
    if (signal == SIGTERM) kill(child.exit.pid, SIGCONT);  // a stopped rank must see SIGTERM
    child.exit.signalled_by_launcher = true;
  }
}

}  // namespace

std::string RankExit::describe() const {
  if (signal != 0) {
    return fmt::format("rank {} (pid {}) was killed by signal {} ({})", rank, pid, signal,
                       strsignal(signal));
  }
  return fmt::format("rank {} (pid {}) exited with status {}", rank, pid, exit_code);
}

int find_free_port(const std::string& host) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ADALLAVA_CHECK(fd >= 0, "launcher: socket() failed: {}", std::strerror(errno));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = 0;
  if (inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1) {
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  }
  socklen_t length = sizeof(address);
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
                  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  const int error = errno;
  close(fd);
  ADALLAVA_CHECK(ok, "launcher: could not find a free TCP port on {}: {}", host,
                 std::strerror(error));
  return ntohs(address.sin_port);
}

std::vector<std::string> command_line_without_option(const std::string& option) {
  std::ifstream file("/proc/self/cmdline", std::ios::binary);
  ADALLAVA_CHECK(file.good(), "launcher: cannot read /proc/self/cmdline");
  const std::string raw((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  size_t start = 0;
  while (start < raw.size()) {
    const size_t end = raw.find('\0', start);
    args.push_back(raw.substr(start, end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return without_option(args, option);
}

std::vector<std::string> without_option(const std::vector<std::string>& args,
                                        const std::string& option) {
  std::vector<std::string> kept;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == option) {
      ++i;  // and its value
      continue;
    }
    if (args[i].rfind(option + "=", 0) == 0) continue;
    kept.push_back(args[i]);
  }
  return kept;
}

int launch_local_ranks(int nproc, const std::vector<std::string>& argv_without_nproc,
                       const LaunchOptions& options, LaunchReport* report) {
  ADALLAVA_CHECK(nproc >= 1 && nproc <= 1024, "--nproc-per-node {}: must be in [1, 1024]", nproc);
  ADALLAVA_CHECK(!argv_without_nproc.empty(), "launcher: empty command line");
  ADALLAVA_CHECK(std::getenv("RANK") == nullptr,
                 "--nproc-per-node inside a process that already has RANK set (nested launch); "
                 "use either the launcher or the torchrun environment");
  const int port =
      options.master_port > 0 ? options.master_port : find_free_port(options.master_addr);
  if (!options.log_dir.empty()) std::filesystem::create_directories(options.log_dir);

  const std::string executable = "/proc/self/exe";
  std::vector<std::string> argv_strings = argv_without_nproc;
  auto argv = c_strings(argv_strings);

  SignalForwarding signals;
  std::vector<Child> children;
  for (int rank = 0; rank < nproc; ++rank) {
    auto set = options.extra_env;
    set.insert(set.end(), {{"RANK", std::to_string(rank)},
                           {"LOCAL_RANK", std::to_string(rank)},
                           {"WORLD_SIZE", std::to_string(nproc)},
                           {"LOCAL_WORLD_SIZE", std::to_string(nproc)},
                           {"MASTER_ADDR", options.master_addr},
                           {"MASTER_PORT", std::to_string(port)}});
    auto env_strings = rank_environment(set);
    auto envp = c_strings(env_strings);
    int log_fd = -1;
    if (!options.log_dir.empty()) {
      const std::string path = fmt::format("{}/rank_{}.log", options.log_dir, rank);
      log_fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      ADALLAVA_CHECK(log_fd >= 0, "launcher: cannot open {}: {}", path, std::strerror(errno));
    }
    Child child;
    child.exit.rank = rank;
    child.exit.pid = spawn_rank(executable, argv, envp, log_fd);
    if (log_fd >= 0) close(log_fd);
    children.push_back(child);
  }
  spdlog::info("[launcher] started {} ranks (rendezvous {}:{})", nproc, options.master_addr, port);

  enum class Phase { Running, Grace, Terminating, Killed } phase = Phase::Running;
  Clock::time_point deadline{};
  int first_failed = -1;
  int interrupted_by = 0;
  size_t running = children.size();
  while (running > 0) {
    if (const int signal = signals.take()) {
      // Forwarded as received; the ranks decide how to wind down (e.g. a final checkpoint).
      interrupted_by = signal;
      signal_running(children, signal);
      if (phase == Phase::Running || phase == Phase::Grace) {
        phase = Phase::Terminating;
        deadline = Clock::now() + options.grace_period;
      }
    }
    for (auto& child : children) {
      if (!child.running) continue;
      int status = 0;
      const pid_t done = waitpid(child.exit.pid, &status, WNOHANG);
      if (done != child.exit.pid) continue;
      child.running = false;
      --running;
      if (WIFEXITED(status)) child.exit.exit_code = WEXITSTATUS(status);
      if (WIFSIGNALED(status)) child.exit.signal = WTERMSIG(status);
      if (!child.exit.succeeded() && first_failed < 0 && interrupted_by == 0) {
        first_failed = child.exit.rank;
        spdlog::error("[launcher] {}; stopping the other ranks", child.exit.describe());
        if (phase == Phase::Running) {
          phase = Phase::Grace;
          deadline = Clock::now() + options.grace_period;
        }
      }
    }
    if (running == 0) break;
    if (phase != Phase::Running && phase != Phase::Killed && Clock::now() >= deadline) {
      if (phase == Phase::Grace) {
        signal_running(children, SIGTERM);
        phase = Phase::Terminating;
        deadline = Clock::now() + options.kill_after;
      } else {
        signal_running(children, SIGKILL);
        phase = Phase::Killed;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }

  if (report) {
    report->ranks.clear();
    for (const auto& child : children) report->ranks.push_back(child.exit);
    report->first_failed_rank = first_failed;
    report->interrupted_by = interrupted_by;
  }
  if (interrupted_by != 0) return 128 + interrupted_by;
  if (first_failed >= 0) {
    std::string others;
    for (const auto& child : children) {
      if (child.exit.rank == first_failed) continue;
      others += fmt::format("; {}{}", child.exit.describe(),
                            child.exit.signalled_by_launcher ? " (stopped by the launcher)" : "");
    }
    fail("{}{}", children[first_failed].exit.describe(), others);
  }
  return 0;
}

}  // namespace adallava::train
