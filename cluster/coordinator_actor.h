// Inside the Coordinator (coordinator.h): the actor that owns the node table, the Router and
// the jobs. Only coordinator.cpp spawns it.
#pragma once

#include <caf/all.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "cluster/coordinator.h"
#include "cluster/router.h"
#include "cluster/turn_front.h"
#include "cluster/wire.h"

namespace agentrt::cluster {

// A submit, on its way from Coordinator::submit to the actor.
struct Submission {
  ClusterJob job;
  std::function<void(ClusterJobResult)> done;
};

// A cancel, from Coordinator::cancel.
struct LocalCancel {
  std::string id;
};

// A completion, from Coordinator::submit_completion.
struct CompletionSubmission {
  ClusterCompletion completion;
  CompletionSink sink;
};

// A cancel, from Coordinator::cancel_completion.
struct LocalCompletionCancel {
  std::uint64_t id = 0;
};

// The local engine's messages (coordinator_local.cpp): its attach (null: detach), and what
// its runs and engines report.
struct LocalAttach {
  std::shared_ptr<LocalEngine> engine;
  bool candidate = true;  // a routing candidate (else it only runs turn-routed jobs)
};
struct LocalCheckpoint {
  JobCheckpoint c;
};
struct LocalJobDone {
  JobResultMsg r;
};
struct LocalPart {
  CompletionPart p;
};
struct LocalKvEvents {
  std::vector<KvEvent> events;
};

// What the facade reads without asking the actor.
struct CoordinatorShared {
  CoordinatorOptions options;
  mutable std::mutex mu;
  std::vector<ClusterNodeView> nodes;  // guarded by mu
  ClusterCounters counters;            // guarded by mu
};

struct MemberNode {
  NodeId id = 0;
  caf::actor handle;
  std::string name;
  std::string model;
  std::string kv_store;  // NodeHello::kv_store: its on-disk KV store, "" when in memory
  std::chrono::steady_clock::time_point last_beat;
  std::set<std::string> jobs;
  LoadReport load;  // its last heartbeat's
  std::int64_t jobs_routed = 0;
  std::int64_t completions_routed = 0;
  std::int64_t turns_routed = 0;
  caf::actor engine;  // its engine front for agent turns (node_engine.h); null until told
};

struct JobEntry {
  std::shared_ptr<Submission> sub;
  std::int32_t attempt = 0;
  std::optional<NodeId> node;  // running there; nullopt: queued
  std::map<std::string, std::string> checkpoints;
  std::vector<std::string> ran_on;
  // The on-disk KV store of the last node an attempt died on ("" none): the next attempt's
  // node reads through it (JobSpec::kv_store).
  std::string dead_store;
  // Turn routing: the coordinator's nodes_lost count when the attempt started, and the
  // attempts that failed after a node was lost (each ran again, up to kMaxTurnLossRetries).
  std::int64_t losses_at_start = 0;
  int loss_retries = 0;
};

struct CompletionEntry {
  std::shared_ptr<CompletionSubmission> sub;
  std::int32_t attempt = 0;
  NodeId node = 0;
  bool replied = false;  // reply bytes went to the sink: the call cannot move any more
};

struct CoordinatorState {
  std::shared_ptr<CoordinatorShared> shared;
  std::unique_ptr<Router> router;
  std::map<caf::actor_addr, std::pair<std::string, NodeHello>> pending;  // nonce, hello
  std::map<NodeId, MemberNode> nodes;
  std::map<caf::actor_addr, NodeId> by_addr;
  std::map<std::string, JobEntry> jobs;
  std::deque<std::string> queue;  // jobs waiting for a node
  // Completions in flight on nodes, by id.
  std::map<std::uint64_t, CompletionEntry> completions;
  // Sessions whose KV is being shipped off a draining node: the node taking each over.
  std::map<std::string, NodeId> shipping;
  // The node each session's last completion was routed to (coordinator_kv_move.cpp).
  std::map<std::string, NodeId> session_nodes;
  // Sessions whose last node died with an on-disk KV store: that store's path, until their
  // next turn's node adopts the KV from it (coordinator_kv_move.cpp).
  std::map<std::string, std::string> orphan_stores;
  std::shared_ptr<LocalEngine> local;         // the server's engine, while attached (kLocalNode)
  bool local_candidate = false;               // attached as a routing candidate (in the router)
  std::vector<caf::actor> turn_fronts;        // the server's turn routers (turn_front.h)
  std::int64_t local_turns_routed = 0;        // turns left on the server's engine
  std::int64_t local_jobs_routed = 0;         // job attempts sent to it
  std::int64_t local_completions_routed = 0;  // completion attempts sent to it
  NodeId next_id = 1;
  ~CoordinatorState();
  static inline const char* name = "cluster_coordinator";
};

using submit_atom = caf::atom_constant<caf::atom("cl_submit")>;

// The completions' handlers (coordinator_completions.cpp).
using CoordinatorSelf = caf::stateful_actor<CoordinatorState>;
void on_completion_submit(CoordinatorSelf* self, const std::shared_ptr<CompletionSubmission>& sub);
// A part of a completion's reply from node `from` (a member, or kLocalNode).
void on_completion_part(CoordinatorSelf* self, NodeId from, const CompletionPart& part);
void on_completion_cancel(CoordinatorSelf* self, std::uint64_t id);
// A node left: its completions without reply bytes run again elsewhere, the others fail.
// `kv_store`: its on-disk KV store ("" when in memory), which its sessions' next turns'
// nodes may adopt KV from.
void on_completion_node_down(CoordinatorSelf* self, NodeId node, const std::string& name,
                             const std::string& kv_store);
// The coordinator stops: every completion in flight ends with an error.
void end_completions(CoordinatorState& state);

// The local engine (coordinator_local.cpp): attach or detach, its runs' reports and its KV
// events, its load (each tick), and its entry in the nodes' view.
void on_local_attach(CoordinatorSelf* self, const LocalAttach& m);
void on_local_kv_events(CoordinatorSelf* self, const LocalKvEvents& m);
void report_local_load(CoordinatorSelf* self);
void add_local_view(const CoordinatorState& state, std::vector<ClusterNodeView>& view);
// A job's attempt on the local engine: its spec goes there; the cancel of one running there.
void run_local_job(CoordinatorSelf* self, JobEntry& job, JobSpec spec);
void cancel_local_job(CoordinatorSelf* self, const std::string& id, std::int32_t attempt);

// Agent turns (coordinator_turns.cpp, turn_front.h): a front starts, a member names its engine
// front, a front asks where a turn goes, a node is lost (the fronts end its streams), and a
// turn-routed job that failed after a node was lost goes back to the queue (true).
inline constexpr int kMaxTurnLossRetries = 3;
void on_turn_front(CoordinatorSelf* self, const caf::actor& front);
void on_turn_engine(MemberNode& node, const caf::actor& engine);
// `count` routes for one request (a best-of group's samples, else 1), at most kMaxWireSubscribers.
std::vector<TurnRoute> on_route_turn(CoordinatorSelf* self, const RouteRequest& request,
                                     std::int32_t count);
// With an on-disk KV store (`kv_store` not empty) the live workers hold it open for
// kTurnOrphanHold (turn_orphan_atom), reading through it.
inline constexpr std::chrono::milliseconds kTurnOrphanHold{120000};
void turns_node_down(CoordinatorSelf* self, NodeId node, const std::string& name,
                     const std::string& kv_store);
bool retry_lost_turns(CoordinatorSelf* self, const JobResultMsg& r);

// A node leaving gracefully (coordinator_drain.cpp): the sender is routed nothing new.
bool on_drain(CoordinatorSelf* self);
// Forwards a batch of a paused session's KV from a draining node to the session's new node
// and answers with that node's reply (blocks imported).
caf::result<std::int32_t> on_kv_ship(CoordinatorSelf* self, KvShipment& s);

// A session's KV follows its turn (coordinator_kv_move.cpp). Under program_affinity, when
// the router sends completion `c`'s turn to `to` (decision `d`) while its session's last turn
// ran on another live node (a move for load) that holds kMoveMinBlocks more of its prompt,
// asks that node to ship the session's KV to `to` and calls `then` once it landed, failed,
// or after kMoveWait; returns true. When the session's last node died with an on-disk KV
// store (orphan_stores), under any policy, asks `to` to adopt the turn's prompt blocks from
// that store (KvAdoptCall) and calls `then` likewise. Otherwise returns false without calling
// `then`. Records the session's node either way.
bool move_session_kv(CoordinatorSelf* self, const ClusterCompletion& c, const RouteDecision& d,
                     std::function<void()> then);
// A node left: forget it as the last node of sessions; with an on-disk KV store
// (`kv_store` not empty) its sessions become orphan_stores entries.
void forget_session_nodes(CoordinatorState& state, NodeId node, const std::string& kv_store);

caf::behavior coordinator_actor(caf::stateful_actor<CoordinatorState>* self,
                                std::shared_ptr<CoordinatorShared> shared);

}  // namespace agentrt::cluster

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<agentrt::cluster::Submission>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(agentrt::cluster::LocalCancel)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<agentrt::cluster::CompletionSubmission>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(agentrt::cluster::LocalCompletionCancel)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(agentrt::cluster::LocalAttach)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(agentrt::cluster::LocalCheckpoint)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(agentrt::cluster::LocalJobDone)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(agentrt::cluster::LocalPart)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(agentrt::cluster::LocalKvEvents)
