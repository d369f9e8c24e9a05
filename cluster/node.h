// A worker node (`agentrt node --join HOST:PORT`): loads its model into a RuntimePool, joins
// the coordinator (proving the shared secret, secret.h), then runs the workflow jobs the
// coordinator routes to it on its own engine, sending back each step's and map item's
// checkpoint as it finishes and the job's result at the end (wire.h). It sends a heartbeat
// with its load every `heartbeat`. Its engines' KV events (blocks stored, evicted, pinned,
// unpinned per tier, by chained key: EngineOptions::kv_events) go to the coordinator in
// batches (KvEventMsg) with every heartbeat and before each job result, through a bounded
// queue (node_kv_events.h: past its cap the oldest are dropped and a clear marker sent), so
// the coordinator's KvIndex knows which prefixes the node holds. When it joins or rejoins,
// and after such an overflow, it sends a snapshot of everything its model's engine holds
// (KvSnapshotMsg, taken between two engine steps in order with the events), which replaces
// the coordinator's view of the node. It also runs the OpenAI completions routed to it, and
// ships a paused agent session's KV blocks to another node when it drains or when the
// coordinator moves the session's next turn away for load (node_drain.h, kv_shipping.h).
//
// The node listens on nothing: it connects to the coordinator's published actor and hands
// over its own actor in the first message, so the coordinator talks back on that connection.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "api/session_table.h"
#include "cluster/transport.h"
#include "engine/common/result.h"

namespace agentrt::cluster {

struct NodeOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::string secret;              // secret.h's load_secret
  std::string name;                // empty: "<hostname>:<pid>"
  std::string model_dir;           // the workflows' default model (empty: fallback_model_dir)
  std::string fallback_model_dir;  // models without a path (the CLI: tiny-calc)
  std::string backend = "cpu";
  int threads = 0;                           // CPU threads; 0: all cores
  int kv_blocks = 0;                         // 0: the pool's default
  std::chrono::milliseconds heartbeat{250};  // until the coordinator names its own
  // Wait between attempts to reach the coordinator (it is down, or restarting).
  std::chrono::milliseconds reconnect{500};
  // The longest wait for the coordinator's connection and handshake (a node without TLS
  // gets no answer from a coordinator with TLS).
  std::chrono::milliseconds connect_timeout{10000};
  TlsFiles tls;  // --tls-*: all empty for plain TCP (transport.h)
  // The KV snapshot tier: empty, in memory (NodeKvStore, lost with the process); else a
  // RocksDB store in this directory (storage::KvStore), which a restarted node opens again:
  // it rejoins with the KV it had, and its resync snapshot reports those blocks.
  std::string kv_store_dir;
  std::uint64_t kv_store_bytes = std::uint64_t{1} << 30;  // the tier's bound, LRU beyond
  // The agent-session pins of the OpenAI completions it runs (--session-pins, --session-ttl).
  api::SessionOptions sessions{};
};

// Loads the model, joins and serves until `stop` becomes true. When the coordinator goes
// away (or forgets the node after missed heartbeats) it cancels its jobs and joins again.
// Errors: TLS files that check_tls_files refuses; the model does not load; the coordinator
// refused the node (wrong secret, another protocol version: invalid_argument), or does not
// prove the secret itself. A coordinator it cannot reach (down, or a TLS mismatch) is logged
// and tried again.
Status run_node(const NodeOptions& options, const std::atomic<bool>& stop);

}  // namespace agentrt::cluster
