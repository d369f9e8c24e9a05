// The session-pin flags (session_pin_flags.h).
#include "cli/session_pin_flags.h"

#include <chrono>

namespace agentrt::cli {

void add_session_pin_options(CLI::App* cmd, SessionPinFlags& out) {
  cmd->add_option("--session-pins", out.pins,
                  "KV of a reply ending in tool calls, kept for the client's next request: "
                  "predict (TTL from the gaps seen; default), fixed (--session-ttl), off")
      ->check(CLI::IsMember({"predict", "fixed", "off"}));
  cmd->add_option("--session-ttl", out.ttl_seconds,
                  "Seconds: the fixed session pin, and predict's cold start (default 2)")
      ->check(CLI::Range(0.001, 3600.0));
}

api::SessionOptions session_options(const SessionPinFlags& flags) {
  api::SessionOptions o;
  o.mode = api::parse_session_mode(flags.pins).value_or(api::SessionMode::predict);
  o.ttl =
      std::chrono::duration_cast<kv::Duration>(std::chrono::duration<double>(flags.ttl_seconds));
  return o;
}

}  // namespace agentrt::cli
