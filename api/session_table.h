// SessionTable: agent sessions, the KV of a conversation kept pinned while the client runs
// the tool calls the last response asked for (issue 15, "Agent sessions").
//
// After a response that ends in tool calls the server pauses the engine request (its KV
// pinned) and put()s it here with a TTL from predict(). The next request of the
// conversation take()s it (the caller then releases the pin: the new request reuses the
// cached prefix); expire() hands back pins whose TTL passed. Gaps between a pause and the
// return teach the prediction, per (client, model, tool), with actors::TtlPolicy; returns
// after expiry are learned too, from small tombstones. Thread-safe; no runtime dependency;
// time comes from an injected kv::Clock so tests drive it by hand.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "actors/ttl_policy.h"
#include "api/session_counters.h"
#include "engine/chat/conversation.h"
#include "engine/engine.h"
#include "engine/kv/clock.h"

namespace agentrt::api {

// predict: TTL from the gaps seen so far (TtlPolicy); off: never pin (vLLM's behaviour:
// unpin at the end of each response); fixed: every pin gets SessionOptions::ttl.
enum class SessionMode { predict, off, fixed };
// "predict", "off", "fixed"; anything else: nullopt.
std::optional<SessionMode> parse_session_mode(std::string_view text);
const char* to_string(SessionMode mode);

// The period of a session reaper (the server's, and OpenAiHost's): pins end at most this
// late after their TTL.
inline constexpr auto kSessionReapPeriod = std::chrono::milliseconds(50);

struct SessionOptions {
  SessionMode mode = SessionMode::predict;
  // Mode fixed: the TTL of every pin. Mode predict: the gap assumed before a (client, model,
  // tool) has shown policy.min_samples gaps (the cold start; the TTL adds margin and slack).
  kv::Duration ttl = std::chrono::seconds(2);
  // Upper bound of every TTL: predicted, fixed, and agentrt.retain_s.
  kv::Duration max_ttl = std::chrono::minutes(10);
  std::size_t max_entries = 4096;  // pins held at once; put() evicts the oldest beyond
  // How long an expired or evicted pin is remembered so a late return still teaches its gap.
  kv::Duration tombstone_lifetime = std::chrono::minutes(10);
  // Quantile, window, margin, pressure rule. cold_start and max_ttl are taken from above.
  actors::TtlPolicyOptions policy;
};

// A response that ended in tool calls, paused in the engine with its KV pinned.
struct PausedTurn {
  std::string key;     // conversation_key() or explicit_session_key()
  std::string client;  // API key name (or "" without keys): pins never cross it
  std::string model;
  std::vector<std::string> tools;    // names of the tool calls the response made
  RequestId request = 0;             // the paused engine request (cancel it to unpin)
  std::vector<std::int32_t> tokens;  // prompt + generated tokens the pin holds
  kv::Duration ttl{0};
  kv::TimePoint paused_at{};  // set by put()
};

// What predict() weighs the pin against (actors::TtlInputs without the tools).
struct SessionPressure {
  std::int64_t context_tokens = 0;  // tokens the pin would hold
  int seq_blocks = 0;               // KV blocks the pin would hold
  int total_blocks = 1;
  int available_blocks = 1;  // free + evictable
};

// The conversation's identity without a client change: xxh3 (hex) of the model, the tools'
// JSON, and the messages up to and including the first user message (role and content).
std::string conversation_key(std::string_view model, const chat::Conversation& conversation);
// The key of a conversation the client named (agentrt.session / X-Agentrt-Session).
std::string explicit_session_key(std::string_view model, std::string_view session);

class SessionTable {
 public:
  // `clock` must outlive the table; nullptr: a steady clock owned by the table.
  explicit SessionTable(SessionOptions options = {}, const kv::Clock* clock = nullptr);

  // Adds a paused turn (paused_at = now). Returns the turns whose engine requests the
  // caller must cancel: the oldest pins evicted beyond max_entries, or `turn` itself when
  // its ttl is <= 0 or the mode is off (then only its gap is remembered, as a tombstone).
  [[nodiscard]] std::vector<PausedTurn> put(PausedTurn turn);

  // The next request of conversation `key` from `client` arrived with `prompt` tokens.
  // Removes and returns the pin of that key and client whose tokens share the longest
  // prefix with `prompt` (ties: the most recent), or nullopt when none. Records the gap
  // since the pause for each of its tools; counts a hit (within ttl) or a late return
  // (past ttl; the turn is still returned so the caller cancels its request). Without a
  // live pin, a tombstone of the key teaches its gap and counts late.
  std::optional<PausedTurn> take(const std::string& key, const std::string& client,
                                 const std::vector<std::int32_t>& prompt);

  // Removes and returns the pins whose TTL has passed (the caller cancels their requests),
  // keeping tombstones; forgets tombstones older than tombstone_lifetime.
  [[nodiscard]] std::vector<PausedTurn> expire();

  // The TTL to pin a paused turn with. Mode off: 0. `retain_s` (agentrt.retain_s) given:
  // it, within [0, max_ttl]. Mode fixed: options.ttl. Mode predict: TtlPolicy::decide over
  // the tools keyed "client|model|tool" (0 when recomputing is cheaper than holding).
  kv::Duration predict(const std::string& client, const std::string& model,
                       const std::vector<std::string>& tools, std::optional<double> retain_s,
                       const SessionPressure& pressure) const;

  // A measured prefill (tokens, seconds): the recompute cost predict() weighs.
  void record_prefill(std::int64_t tokens, double seconds);

  SessionCounters metrics() const;
  const SessionOptions& options() const { return opt_; }
  // The pins live now (e.g. for a draining cluster node to ship their KV), most recent last.
  std::vector<PausedTurn> paused() const;

 private:
  // An expired, evicted or unpinned pause, remembered so a late return teaches its gap.
  struct Tombstone {
    std::string key, client, model;
    std::vector<std::string> tools;
    kv::TimePoint paused_at{};
    std::size_t tokens = 0;
    bool counts_late = false;  // the pin expired (evictions and ttl-0 pauses are not late)
  };
  void learn_locked(const std::string& client, const std::string& model,
                    const std::vector<std::string>& tools, kv::Duration gap);
  void bury_locked(const PausedTurn& turn, bool counts_late);
  void evict_locked(std::vector<PausedTurn>& out);

  SessionOptions opt_;
  std::unique_ptr<kv::Clock> owned_clock_;
  const kv::Clock* clock_;
  actors::TtlPolicy policy_;
  mutable std::mutex mu_;
  std::vector<PausedTurn> live_;
  std::vector<Tombstone> tombstones_;
  SessionCounters counters_;
};

}  // namespace agentrt::api
