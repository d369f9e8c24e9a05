// The coordinator's turn router for the server's model (`agentrt serve --cluster-route turns`,
// docs/cluster.md): an actor standing where the engine actor stands for the server's agents
// and samplers (actors::RuntimeOptions::engine_front). It answers engine_actor.h's messages:
// - generate (an agent's turn, a best-of group): the coordinator's Router picks the node from
//   the prompt's chained block keys, the request's program and the nodes' load (for each
//   sample of a best-of group: samples the router sends to several nodes go as one group per
//   node, each with seeds of its own; a fork group stays whole); the request goes to that
//   worker's engine (node_engine.h, in engine_wire.h's form) with one relay per
//   subscriber (turn_relay.h), or to the server's own engine (the router chose "local", no
//   worker is live, or the request cannot cross the wire);
// - resume, pause, repin, fork and cancel of a request go to the node that holds it: a
//   worker's request ids carry its node id in the bits from kTurnIdShift up (the server's
//   engine's are below 2^kTurnIdShift), so a paused agent's next turn goes back to its node;
// - metrics: the server's engine's.
// When a node is lost, every request on it ends with an error batch (its relays), and a
// resume of one answers an error: the job that made it fails, and the coordinator runs it
// again from its checkpoints (coordinator.h).
// Threads: an actor of the coordinator's system; the agents (another system of the process)
// reach it with local sends only.
#pragma once

#include <caf/all.hpp>

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "actors/messages.h"
#include "cluster/kv_index.h"
#include "cluster/policy.h"

namespace agentrt::cluster {

inline constexpr int kTurnIdShift = 40;
inline constexpr NodeId kMaxTurnNode = (NodeId{1} << 23) - 1;  // ids stay below 2^63

// A worker's request id as the agents see it, and back.
RequestId turn_id(NodeId node, RequestId local);
NodeId turn_node(RequestId id);  // 0: the server's own engine
RequestId turn_local(RequestId id);

// Local messages between the fronts and the coordinator actor (no wire format).
// (route_turn_atom, RouteRequest, count) -> std::vector<TurnRoute>: `count` routes for one
// request, routed one after another (each counted in its node's load): a best-of group's
// samples, or 1.
using route_turn_atom = caf::atom_constant<caf::atom("cl_troute")>;
struct TurnRoute {
  NodeId node = 0;
  caf::actor engine;  // the worker's engine front; null: the server's own engine
  std::string name;   // the node's name, for messages
};
struct TurnFrontJoin {
  caf::actor front;
};
struct TurnNodeDown {
  NodeId node = 0;
  std::string name;
};
// A relay ended (its request did); sent to the front that spawned it.
struct TurnRelayDone {
  NodeId node = 0;
  caf::actor relay;
};

struct TurnFrontInit {
  caf::actor coordinator;
  // The server's engine actor (or its tap); weak: it belongs to the agents' actor system,
  // which may end first.
  caf::actor_addr local_engine;
  std::string fingerprint;  // the model's KV key layout, for the prompts' block keys
  int block_size = 16;
};

struct TurnFrontState {
  TurnFrontInit init;
  std::map<NodeId, caf::actor> engines;           // live workers routed to so far
  std::map<NodeId, std::string> names;            // theirs
  std::map<NodeId, std::set<caf::actor>> relays;  // open relays by node
  std::map<caf::actor_addr, std::pair<NodeId, caf::actor>> by_subscriber;  // -> its relay
  // Seeds of best-of groups split over nodes without a seed of their own.
  std::uint64_t seed_base = 0;
  std::int64_t seeds_drawn = 0;
  ~TurnFrontState();  // stops the open relays
  static inline const char* name = "cluster_turn_front";
};

caf::behavior turn_front(caf::stateful_actor<TurnFrontState>* self, TurnFrontInit init);

}  // namespace agentrt::cluster

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(agentrt::cluster::RouteRequest)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(agentrt::cluster::TurnRoute)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<agentrt::cluster::TurnRoute>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(agentrt::cluster::TurnFrontJoin)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(agentrt::cluster::TurnNodeDown)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(agentrt::cluster::TurnRelayDone)
