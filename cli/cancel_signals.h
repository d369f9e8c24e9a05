// SIGINT (Ctrl-C) and SIGTERM both cancel a long command the same way: the handler only
// records the signal; a watcher thread of the command calls its cancel(). A second signal of
// either kind ends the process at once (the first one restores the default dispositions).
#pragma once

namespace agentrt::cli {

// Exit code of a run cancelled by SIGINT or SIGTERM (128 + SIGINT, as shells report Ctrl-C).
inline constexpr int kExitCancelled = 130;

// Installs the handlers and clears any earlier signal. Call once per command, on any thread.
void install_cancel_signals();
// Restores the default dispositions.
void remove_cancel_signals();
// The signal received since install_cancel_signals() (SIGINT or SIGTERM), or 0; clears it.
// Async-signal-safe state only: safe to poll from any thread.
int take_cancel_signal();

}  // namespace agentrt::cli
