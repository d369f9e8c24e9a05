// A worker's engine front for the coordinator's turn routers (turn_front.h; wire.h's turn_*
// messages, in engine_wire.h's form). It checks each message (from_wire: a turn's JSON-schema
// constraint compiles with the node's own vocabulary), passes it to the node's engine actor
// (engine_actor.h) with the node's own request ids, and streams each request's batches to the
// subscribers the coordinator named (its relays), through one relay of its own per subscriber
// that puts them in wire form. When it ends (the node lost the coordinator: it is linked to
// the node's actor), it cancels the requests it started that have not ended, so their KV
// pins go. Its engine is the node Runtime's engine actor (another actor system of the
// process), held weakly.
#pragma once

#include <caf/all.hpp>

#include <map>
#include <memory>
#include <set>

#include "actors/messages.h"
#include "cluster/schema_constraints.h"

namespace agentrt::cluster {

// A node relay's news for its front: request `id` started streaming, or ended (local only).
struct NodeRequestSeen {
  RequestId id = 0;
  bool ended = false;
  caf::actor_addr remote;  // the coordinator's subscriber it relays to
};

struct NodeEngineState {
  caf::actor_addr engine;
  std::shared_ptr<const SchemaConstraints> schemas;
  // Requests started here and not known to have ended; shared with the exit handler.
  std::shared_ptr<std::set<RequestId>> live;
  std::map<caf::actor_addr, caf::actor> relay_of;  // the coordinator's subscriber -> ours
  static inline const char* name = "cluster_node_engine";
};

// Ends when `owner` (the node's actor for this connection) does.
caf::behavior node_engine(caf::stateful_actor<NodeEngineState>* self, caf::actor owner,
                          caf::actor engine, std::shared_ptr<const SchemaConstraints> schemas);

}  // namespace agentrt::cluster

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(agentrt::cluster::NodeRequestSeen)
