#include "cli/cancel_signals.h"

#include <atomic>
#include <csignal>

namespace agentrt::cli {
namespace {

std::atomic<int> g_signal{0};
static_assert(std::atomic<int>::is_always_lock_free, "used from a signal handler");

void set_handler(int sig, void (*handler)(int)) {
  struct sigaction sa {};
  sa.sa_handler = handler;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(sig, &sa, nullptr);  // async-signal-safe, so the handler may call it too
}

extern "C" void on_cancel_signal(int sig) {
  g_signal.store(sig);
  for (int s : {SIGINT, SIGTERM})  // the next signal of either kind ends the process
    set_handler(s, SIG_DFL);
}

}  // namespace

void install_cancel_signals() {
  g_signal.store(0);
  for (int sig : {SIGINT, SIGTERM})
    set_handler(sig, on_cancel_signal);
}

void remove_cancel_signals() {
  for (int sig : {SIGINT, SIGTERM})
    set_handler(sig, SIG_DFL);
}

int take_cancel_signal() {
  return g_signal.exchange(0);
}

}  // namespace agentrt::cli
