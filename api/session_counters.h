// SessionCounters: a snapshot of the agent-session table (api/session_table.h) for the
// metrics renderer, kept apart so metrics code need not include the table.
#pragma once

#include <cstdint>

namespace agentrt::api {

struct SessionCounters {
  std::int64_t active = 0;         // conversations whose KV is pinned now (gauge)
  std::int64_t pinned_tokens = 0;  // tokens those pins hold (gauge)
  std::int64_t created = 0;        // pins made after a response ending in tool calls
  std::int64_t hits = 0;           // the conversation came back before its pin expired
  std::int64_t expired = 0;        // pins that lapsed (TTL) before the conversation came back
  std::int64_t late = 0;           // the conversation came back after its pin had expired
  std::int64_t evicted = 0;        // pins dropped to keep the table within max_entries
};

}  // namespace agentrt::api
