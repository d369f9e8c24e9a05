// A node's side of KV shipping (kv_shipping.h): what a node sends, and how a node takes a
// shipped batch in. A node ships a paused agent session's KV when it drains on SIGTERM/SIGINT
// (run_node's stop: the coordinator routes it nothing new, every paused session's KV goes to
// the nodes that take them over, then it leaves), and when the coordinator moves one
// session's next turn to another node for load (KvMoveCall): both send the same batches
// (docs/cluster.md, "KV moves with an agent").
#pragma once

#include <chrono>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "api/openai_host.h"
#include "cluster/wire.h"
#include "engine/kv/kv_tier.h"

namespace agentrt::cluster {

// Blocks per KvShipment a node sends.
inline constexpr std::size_t kDrainBatchBlocks = 32;

// Writes the engine's cached blocks into `store` (Runtime::flush_kv) and returns the batches
// of every paused session, sessions in pause order. A session whose blocks fail to read is
// logged and left out.
std::deque<KvShipment> drain_batches(api::OpenAiHost& openai, kv::KvTier& store);

// The tokens of the agent sessions this node paused lately, kept past their pins: a pin
// expires (--session-ttl) or is dropped under KV pressure while the turn's blocks stay in the
// snapshot tier, and a load move still ships them. At most kMaxRecentSessions sessions, the
// least recently seen paused go first. Thread-safe: run_node's watcher thread updates it (the
// session table's lock can wait on a long engine step: never on the node actor's thread).
class RecentSessions {
 public:
  static constexpr std::size_t kMaxRecentSessions = 1024;
  // Records the sessions paused now (OpenAiHost::paused(); a session's tokens are copied only
  // when they changed).
  void update(const std::vector<api::PausedTurn>& paused);
  // The tokens of `session`'s last paused turn seen; none when not seen.
  std::optional<std::vector<std::int32_t>> find(const std::string& session) const;

 private:
  struct Entry {
    std::vector<std::int32_t> tokens;
    std::uint64_t stamp = 0;
  };
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> by_key_;  // guarded by mu_
  std::uint64_t clock_ = 0;                        // guarded by mu_
};

// The batches of session `session` (its last paused turn in `recent`), as drain_batches
// makes them, when `store` holds at least `min_blocks` (>= 1) blocks of its
// chain; else none. Reads only the store (no flush: a pause writes the turn's blocks behind
// at once, and a flush would stall the busy engine); a chain the writer has not finished is
// shipped as far as it goes.
std::deque<KvShipment> move_batches(const actors::Runtime& rt, kv::KvTier& store,
                                    const RecentSessions& recent, const std::string& session,
                                    std::int32_t min_blocks);

// How long one adoption may read: it runs on the node actor's thread, whose heartbeats must
// keep going (a node silent for 2 s is dead), and the turn waits for it at most kMoveWait.
inline constexpr std::chrono::milliseconds kAdoptBudget{1000};

// A dead node's session (KvAdoptCall): opens its store at m.store read-only and copies the
// blocks of m.keys, in order up to the first one it lacks (each value checked against its
// model and key) or until kAdoptBudget has passed, into `store`, kDrainBatchBlocks at a
// time. `model_fingerprint` is this node's model's (the store's rows
// are per model). Returns the blocks copied. Errors: the call fails check_kv_adopt
// (invalid_argument), the store does not open or a read fails (io).
Result<std::int32_t> adopt_blocks(kv::KvTier& store, const std::string& model_fingerprint,
                                  const KvAdoptCall& m);

// Checks a batch against this node's engine and imports it into `store` (import_shipment).
Result<std::int32_t> import_batch(api::OpenAiHost& openai, kv::KvTier& store,
                                  std::size_t block_bytes, const KvShipment& s);

}  // namespace agentrt::cluster
