// NodeKvEvents: a worker node's KV events on their way to the coordinator. The node's
// engines push them (EngineOptions::kv_events, on their engine threads); the node actor
// drains them into KvEventMsg batches (wire.h) every heartbeat and before each job result,
// so the coordinator's index (kv_index.h) knows what the node holds when it routes the next
// job.
//
// Bounded: past `max_backlog` events the oldest are dropped, and the next drain starts with
// a clear marker (KvEventMsg kind 4): the coordinator forgets what it knew of this node. It
// then knows less than the node holds, never more, until a snapshot rebuilds it: an overflow
// raises take_snapshot_request(), and the node asks its engine for one (as on each join).
//
// Snapshots and ordering: a snapshot (KvManager::held_blocks: every key per tier, with pins)
// is taken on the engine thread between steps, right after that engine handed its buffered
// events here (Runtime::kv_snapshot), and push_snapshot() runs on that same thread. So every
// event queued before it happened before the snapshot, and every event pushed after it
// happened after: no sequence numbers are needed. push_snapshot() drops the queued events
// (the snapshot's first part clears the coordinator's view anyway) and the next drain sends
// the snapshot's parts (KvSnapshotMsg) before the events that followed it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <vector>

#include "cluster/wire.h"
#include "engine/kv/kv_events.h"
#include "engine/kv/kv_manager.h"

namespace agentrt::cluster {

struct NodeKvEventsOptions {
  std::size_t max_batch = 2048;         // keys per KvEventMsg or KvSnapshotMsg (at least 1)
  std::size_t max_backlog = 1u << 16;   // events waiting (at least 1); then the oldest go
  std::size_t max_snapshot = 1u << 18;  // blocks in one snapshot (Runtime::kv_snapshot's max)
};

// One drain's messages, to send in this order: the snapshot's parts, then the events.
struct KvOutbox {
  std::vector<KvSnapshotMsg> snapshot;
  std::vector<KvEventMsg> events;
  bool empty() const { return snapshot.empty() && events.empty(); }
};

class NodeKvEvents {
 public:
  explicit NodeKvEvents(NodeKvEventsOptions options = {});
  const NodeKvEventsOptions& options() const { return opt_; }

  // A listener for EngineOptions::kv_events that pushes here; thread-safe. The listener
  // refers to this object, which must outlive the engines.
  kv::KvEventListener listener();
  void push(std::span<const kv::KvBlockEvent> events);
  // A snapshot of what the engine holds, taken on its engine thread after its events were
  // pushed (see above); replaces the queued events and any snapshot not yet drained.
  // Thread-safe.
  void push_snapshot(std::vector<kv::KvHeldBlock> blocks);
  // Whether events were dropped since the last call (a snapshot is needed to know again
  // what the node holds); clears the request. Thread-safe.
  bool take_snapshot_request();
  // What waits, in order: a pending snapshot's parts (at least one: part 0 clears, even for
  // an empty snapshot; at most max_batch keys of one tier each), or else a clear marker
  // when events were dropped since the last drain; then one message per run of events of
  // one kind and tier, each of at most max_batch keys. Empty when nothing waits.
  KvOutbox drain();
  std::int64_t dropped() const;  // events dropped for the backlog cap, in all

 private:
  NodeKvEventsOptions opt_;
  mutable std::mutex mu_;
  std::deque<kv::KvBlockEvent> queue_;                    // guarded by mu_
  std::optional<std::vector<kv::KvHeldBlock>> snapshot_;  // guarded by mu_
  bool clear_ = false;                                    // guarded by mu_
  bool want_snapshot_ = false;                            // guarded by mu_
  std::int64_t dropped_ = 0;                              // guarded by mu_
};

}  // namespace agentrt::cluster
