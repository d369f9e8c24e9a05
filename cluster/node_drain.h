// A node's side of KV shipping (kv_shipping.h): what a node sends, and how a node takes a
// shipped batch in. A node ships a paused agent session's KV when it drains on SIGTERM/SIGINT
// (run_node's stop: the coordinator routes it nothing new, every paused session's KV goes to
// the nodes that take them over, then it leaves), and when the coordinator moves one
// session's next turn to another node for load (KvMoveCall): both send the same batches
// (docs/cluster.md, "KV moves with an agent").
#pragma once

#include <deque>

#include "api/openai_host.h"
#include "cluster/node_kv_store.h"
#include "cluster/wire.h"

namespace agentrt::cluster {

// Blocks per KvShipment a node sends.
inline constexpr std::size_t kDrainBatchBlocks = 32;
// The node's snapshot tier (NodeKvStore) capacity.
inline constexpr std::size_t kNodeSnapshotBytes = std::size_t{1} << 30;

// Writes the engine's cached blocks into `store` (Runtime::flush_kv) and returns the batches
// of every paused session, sessions in pause order. A session whose blocks fail to read is
// logged and left out.
std::deque<KvShipment> drain_batches(api::OpenAiHost& openai, NodeKvStore& store);

// The batches of the paused session `session`, as drain_batches makes them, when `store`
// holds at least `min_blocks` (>= 1) blocks of its chain; else none. Reads only the store
// (no flush: a pause writes the turn's blocks behind at once, and a flush would stall the
// busy engine); a chain the writer has not finished is shipped as far as it goes.
std::deque<KvShipment> move_batches(api::OpenAiHost& openai, NodeKvStore& store,
                                    const std::string& session, std::int32_t min_blocks);

// Checks a batch against this node's engine and imports it into `store` (import_shipment).
Result<std::int32_t> import_batch(api::OpenAiHost& openai, NodeKvStore& store, const KvShipment& s);

}  // namespace agentrt::cluster
