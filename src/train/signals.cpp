#include "train/signals.h"

#include <atomic>
#include <csignal>

namespace adallava::train {

namespace {

std::atomic<int> g_stop_signal{0};
bool g_installed = false;
struct sigaction g_previous_int, g_previous_term;

extern "C" void on_stop_signal(int signal_number) {
  // A second signal while saving: give up immediately, as the user insists.
  if (g_stop_signal.exchange(signal_number) != 0) {
    std::signal(signal_number, SIG_DFL);
    std::raise(signal_number);
  }
}

}  // namespace

void install_stop_handlers() {
  g_stop_signal = 0;
  if (g_installed) return;
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, &g_previous_int);
  sigaction(SIGTERM, &action, &g_previous_term);
  g_installed = true;
}

void remove_stop_handlers() {
  if (!g_installed) return;
  sigaction(SIGINT, &g_previous_int, nullptr);
  sigaction(SIGTERM, &g_previous_term, nullptr);
  g_installed = false;
}

int stop_requested() {
  return g_stop_signal.load();
}

void request_stop(int signal_number) {
  g_stop_signal = signal_number;
}

}  // namespace adallava::train
