// NodeKvEvents: a worker node's KV events on their way to the coordinator. The node's
// engines push them (EngineOptions::kv_events, on their engine threads); the node actor
// drains them into KvEventMsg batches (wire.h) every heartbeat and before each job result,
// so the coordinator's index (kv_index.h) knows what the node holds when it routes the next
// job.
//
// Bounded: past `max_backlog` events the oldest are dropped, and the next drain starts with
// a clear marker (KvEventMsg kind 4): the coordinator forgets what it knew of this node and
// rebuilds from the events that follow. It then knows less than the node holds, never more,
// so routing only loses some affinity.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

#include "cluster/wire.h"
#include "engine/kv/kv_events.h"

namespace agentrt::cluster {

struct NodeKvEventsOptions {
  std::size_t max_batch = 2048;        // keys per KvEventMsg (at least 1)
  std::size_t max_backlog = 1u << 16;  // events waiting (at least 1); then the oldest go
};

class NodeKvEvents {
 public:
  explicit NodeKvEvents(NodeKvEventsOptions options = {});

  // A listener for EngineOptions::kv_events that pushes here; thread-safe. The listener
  // refers to this object, which must outlive the engines.
  kv::KvEventListener listener();
  void push(std::span<const kv::KvBlockEvent> events);
  // The waiting events as messages, in order: a clear marker first when events were dropped
  // since the last drain, then one message per run of events of one kind and tier, each of
  // at most max_batch keys. Empty when nothing waits.
  std::vector<KvEventMsg> drain();
  std::int64_t dropped() const;  // events dropped for the backlog cap, in all

 private:
  NodeKvEventsOptions opt_;
  mutable std::mutex mu_;
  std::deque<kv::KvBlockEvent> queue_;  // guarded by mu_
  bool clear_ = false;                  // guarded by mu_
  std::int64_t dropped_ = 0;            // guarded by mu_
};

}  // namespace agentrt::cluster
