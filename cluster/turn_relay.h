// One subscriber's stream of a request routed to a worker (turn_front.h): the worker's engine
// sends its batches here (turn_batch_atom, WireTokenBatch, request ids local to the worker);
// the relay checks each (engine_wire.h's from_wire), gives it the id the agents know
// (turn_id) and passes it to the subscriber. It ends with the request: a batch that ends it
// (an error, a cancellation, a last token without a pause), or a TurnNodeDown, after which
// the subscriber gets an error batch saying the node was lost. It tells the front when the
// request ended (TurnRelayDone), not when the front ended it.
#pragma once

#include <caf/all.hpp>

#include "actors/messages.h"
#include "cluster/kv_index.h"

namespace agentrt::cluster {

struct TurnRelayState {
  caf::actor front;
  caf::actor_addr subscriber;  // weak: an actor of the agents' system, which may end first
  NodeId node = 0;
  RequestId id = 0;  // the agents' id of the request, once a batch named it
  static inline const char* name = "cluster_turn_relay";
};

caf::behavior turn_relay(caf::stateful_actor<TurnRelayState>* self, caf::actor front,
                         caf::actor_addr subscriber, NodeId node);

// Whether the batch ends its request (no more batches follow).
bool ends_request(const actors::TokenBatch& b);

}  // namespace agentrt::cluster
