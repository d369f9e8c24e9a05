// The flags of OpenAI agent-session pins (api/session_table.h), the same on the server and on
// a worker node, which runs the completions routed to it with its own pins:
// `--session-pins predict|fixed|off` and `--session-ttl SECONDS`.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "api/session_table.h"

namespace agentrt::cli {

struct SessionPinFlags {
  std::string pins = "predict";
  double ttl_seconds = 2.0;
};

// Registers --session-pins and --session-ttl on `cmd`, into `out` (which must outlive
// parsing); CLI11 checks the mode's name and the TTL's range (0.001 .. 3600 s).
void add_session_pin_options(CLI::App* cmd, SessionPinFlags& out);
// The session options of parsed flags.
api::SessionOptions session_options(const SessionPinFlags& flags);

}  // namespace agentrt::cli
