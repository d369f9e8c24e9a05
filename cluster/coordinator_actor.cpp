// The coordinator actor (coordinator_actor.h): admission with the secret handshake, the node
// table with heartbeats, routing jobs through the Router, and moving a dead node's jobs.
#include "cluster/coordinator_actor.h"

#include <spdlog/spdlog.h>

#include <cmath>

#include "cluster/kv_reports.h"
#include "cluster/secret.h"
#include "cluster/wire_checks.h"

namespace agentrt::cluster {
namespace {

using Self = caf::stateful_actor<CoordinatorState>;
using tick_atom = caf::atom_constant<caf::atom("cl_tick")>;
using Clock = std::chrono::steady_clock;
// Joins half done (hello without auth) kept at once; more are refused.
constexpr std::size_t kMaxPendingJoins = 256;

caf::actor_addr sender_of(Self* self) {
  return caf::actor_cast<caf::actor_addr>(self->current_sender());
}

// The member that sent the current message, or null.
MemberNode* member(Self* self) {
  auto& st = self->state;
  auto it = st.by_addr.find(sender_of(self));
  if (it == st.by_addr.end()) return nullptr;
  auto n = st.nodes.find(it->second);
  return n == st.nodes.end() ? nullptr : &n->second;
}

void publish_nodes(Self* self) {
  auto& st = self->state;
  std::vector<ClusterNodeView> view;
  for (const auto& [id, n] : st.nodes) {
    ClusterNodeView v{id, n.name, n.model, static_cast<int>(n.jobs.size())};
    v.running = n.load.running_jobs;
    v.waiting = n.load.queued_requests;
    v.kv_blocks = n.load.kv_blocks;
    v.kv_available_blocks = n.load.kv_available_blocks;
    v.jobs_routed = n.jobs_routed;
    v.completions_routed = n.completions_routed;
    v.turns_routed = n.turns_routed;
    view.push_back(std::move(v));
  }
  add_local_view(st, view);
  std::lock_guard lock(st.shared->mu);
  st.shared->nodes = std::move(view);
}

void finish(Self* self, const std::string& id, ClusterJobResult result) {
  auto& st = self->state;
  auto it = st.jobs.find(id);
  if (it == st.jobs.end()) return;
  auto sub = it->second.sub;
  result.nodes = it->second.ran_on;
  st.jobs.erase(it);
  if (sub->job.program.empty()) st.router->program_done(id);  // a named program goes on
  if (sub->done) sub->done(std::move(result));
}

JobSpec spec_of(const std::string& id, const JobEntry& job) {
  JobSpec spec;
  spec.job = id;
  spec.attempt = job.attempt;
  spec.workflow_yaml = job.sub->job.workflow_yaml;
  spec.workflow_file = job.sub->job.workflow_file;
  for (const auto& [k, v] : job.sub->job.inputs)
    spec.inputs.push_back({k, v});
  for (const auto& [k, v] : job.checkpoints)
    spec.resume.push_back({k, v});
  spec.kv_reuse = job.sub->job.kv_reuse;
  if (const auto f = job.sub->job.blend_recompute; f && *f >= 0.0 && *f <= 1.0)
    spec.blend_recompute_ppm = static_cast<std::int32_t>(std::lround(*f * 1e6));
  if (const auto a = job.sub->job.blend_anchors) spec.blend_anchors = *a ? 1 : 0;
  return spec;
}

// Turn routing: every job runs on the server's runtime, whose turn front routes its turns.
void dispatch_turn_jobs(Self* self) {
  auto& st = self->state;
  while (!st.queue.empty() && st.local) {
    const std::string id = st.queue.front();
    st.queue.pop_front();
    auto it = st.jobs.find(id);
    if (it == st.jobs.end()) continue;
    auto& job = it->second;
    job.node = kLocalNode;
    {
      std::lock_guard lock(st.shared->mu);
      job.losses_at_start = st.shared->counters.nodes_lost;
    }
    run_local_job(self, job, spec_of(id, job));
  }
}

void dispatch(Self* self) {
  auto& st = self->state;
  if (st.shared->options.route_turns) dispatch_turn_jobs(self);
  while (!st.shared->options.route_turns && !st.queue.empty() && (!st.nodes.empty() || st.local)) {
    const std::string id = st.queue.front();
    auto it = st.jobs.find(id);
    if (it == st.jobs.end()) {
      st.queue.pop_front();
      continue;
    }
    const ClusterJob& cj = it->second.sub->job;
    RouteRequest req;
    req.program = cj.program.empty() ? id : cj.program;
    req.blocks = cj.blocks;
    req.prompt_tokens = cj.prompt_tokens;
    auto decided = st.router->decide(req);
    if (!decided.ok()) break;  // no live node: the job waits
    st.queue.pop_front();
    auto& job = it->second;
    JobSpec spec = spec_of(id, job);
    job.node = decided->node;
    if (decided->node == kLocalNode) {
      run_local_job(self, job, std::move(spec));
      continue;
    }
    auto& target = st.nodes.at(decided->node);
    job.ran_on.push_back(target.name);
    target.jobs.insert(id);
    ++target.jobs_routed;
    // A node back on its own store reads it as its own tier already.
    if (job.dead_store != target.kv_store) spec.kv_store = job.dead_store;
    spdlog::info(
        "cluster: job {} (attempt {}{}) -> node {} '{}' ({} checkpoints, {}/{} prompt "
        "blocks cached there{})",
        id, job.attempt, cj.program.empty() ? "" : ", program " + cj.program, target.id,
        target.name, spec.resume.size(), decided->match.blocks, req.blocks.size(),
        spec.kv_store.empty() ? "" : "; it reads the dead node's KV from " + spec.kv_store);
    self->send(target.handle, run_job_atom::value, std::move(spec));
  }
  publish_nodes(self);
}

// Drops a member; its jobs go back to the front of the queue with a new attempt.
void declare_dead(Self* self, NodeId id, const char* why) {
  auto& st = self->state;
  auto it = st.nodes.find(id);
  if (it == st.nodes.end()) return;
  MemberNode node = std::move(it->second);
  st.nodes.erase(it);
  st.by_addr.erase(node.handle.address());
  st.router->leave(id).permit_unchecked();  // not_found: it never joined the router
  spdlog::warn("cluster: node {} '{}' is dead ({}); moving {} job(s)", id, node.name, why,
               node.jobs.size());
  {
    std::lock_guard lock(st.shared->mu);
    ++st.shared->counters.nodes_lost;
    st.shared->counters.jobs_moved += static_cast<std::int64_t>(node.jobs.size());
  }
  on_completion_node_down(self, id, node.name, node.kv_store);
  turns_node_down(self, id, node.name, node.kv_store);
  for (auto j = node.jobs.rbegin(); j != node.jobs.rend(); ++j) {
    auto job = st.jobs.find(*j);
    if (job == st.jobs.end()) continue;
    // Tell the node in case it is alive but late: its attempt is void either way.
    self->send(node.handle, cancel_job_atom::value, *j, job->second.attempt);
    job->second.node.reset();
    ++job->second.attempt;
    if (!node.kv_store.empty()) job->second.dead_store = node.kv_store;
    st.queue.push_front(*j);
  }
  dispatch(self);
}

caf::result<Challenge> on_hello(Self* self, const NodeHello& hello) {
  auto& st = self->state;
  auto refuse = [&](const std::string& why) -> caf::result<Challenge> {
    {
      std::lock_guard lock(st.shared->mu);
      ++st.shared->counters.refused;
    }
    spdlog::warn("cluster: refused node '{}': {}", hello.name, why);
    return caf::make_error(caf::sec::runtime_error, why);
  };
  if (auto s = check_hello(hello); !s.ok()) return refuse(s.error().message);
  if (st.pending.size() >= kMaxPendingJoins) return refuse("too many joins in progress");
  auto nonce = make_nonce();
  if (!nonce.ok()) return refuse(nonce.error().message);
  st.pending[sender_of(self)] = {*nonce, hello};
  return Challenge{prove(st.shared->options.secret, "coordinator|" + hello.nonce), *nonce};
}

caf::result<Welcome> on_auth(Self* self, const AuthProof& proof) {
  auto& st = self->state;
  const auto addr = sender_of(self);
  auto it = st.pending.find(addr);
  if (it == st.pending.end()) return caf::make_error(caf::sec::runtime_error, "hello first");
  auto [nonce, hello] = std::move(it->second);
  st.pending.erase(it);
  if (!check_proof(st.shared->options.secret, "worker|" + nonce + "|" + hello.name, proof.proof)) {
    {
      std::lock_guard lock(st.shared->mu);
      ++st.shared->counters.refused;
    }
    spdlog::warn("cluster: refused node '{}': it did not prove the cluster secret", hello.name);
    return caf::make_error(caf::sec::runtime_error, "wrong cluster secret");
  }
  if (auto old = st.by_addr.find(addr); old != st.by_addr.end())
    declare_dead(self, old->second, "joined again");
  MemberNode node;
  node.id = st.next_id++;
  node.handle = caf::actor_cast<caf::actor>(self->current_sender());
  node.name = hello.name;
  node.model = hello.model;
  node.kv_store = hello.kv_store;
  node.last_beat = Clock::now();
  if (auto s = st.router->join(node.id, NodeInfo{hello.name, 0}); !s.ok())
    return caf::make_error(caf::sec::runtime_error, s.error().message);
  self->monitor(node.handle);
  st.by_addr[addr] = node.id;
  const NodeId id = node.id;
  spdlog::info("cluster: node {} '{}' joined ({})", id, hello.name, hello.model);
  st.nodes.emplace(id, std::move(node));
  dispatch(self);
  return Welcome{id, st.shared->options.heartbeat.count()};
}

bool on_heartbeat(Self* self, const LoadReport& r) {
  auto* n = member(self);
  if (n == nullptr) return false;
  n->last_beat = Clock::now();
  n->load = r;
  NodeLoad load;
  load.running = r.running_jobs;
  load.waiting = r.queued_requests;
  load.free_blocks = r.kv_available_blocks;
  self->state.router->report_load(n->id, load).permit_unchecked();  // a member is live
  return true;
}

void on_kv_event(Self* self, const KvEventMsg& m) {
  auto* n = member(self);
  if (n == nullptr) return;
  apply_kv_event(*self->state.router, n->id, m).permit_unchecked();  // a member is live
}

// A part of the member's KV snapshot: part 0 replaces what the index knew of it.
void on_kv_snapshot(Self* self, const KvSnapshotMsg& m) {
  auto* n = member(self);
  if (n == nullptr) return;
  if (auto s = apply_kv_snapshot(*self->state.router, n->id, m); !s.ok())
    spdlog::warn("cluster: node {} '{}': {}", n->id, n->name, s.error().message);
}

// The job entry that node `from`'s message about (job, attempt) may change, or null (stale).
JobEntry* current_job(Self* self, NodeId from, const std::string& job, std::int32_t attempt) {
  auto it = self->state.jobs.find(job);
  if (it == self->state.jobs.end() || it->second.node != from || it->second.attempt != attempt)
    return nullptr;
  return &it->second;
}

void on_checkpoint(Self* self, NodeId from, const JobCheckpoint& c) {
  auto* job = current_job(self, from, c.job, c.attempt);
  if (job == nullptr) return;
  if (job->sub->job.on_checkpoint) job->sub->job.on_checkpoint(c.checkpoint.key, c.checkpoint.text);
  job->checkpoints[c.checkpoint.key] = c.checkpoint.text;
}

void on_done(Self* self, NodeId from, const JobResultMsg& r) {
  auto* job = current_job(self, from, r.job, r.attempt);
  if (job == nullptr) return;
  if (auto n = self->state.nodes.find(*job->node); n != self->state.nodes.end())
    n->second.jobs.erase(r.job);
  auto checked = check_job_result(r);
  ClusterJobResult result;
  result.status = std::move(checked.status);
  result.report = std::move(checked.report);
  finish(self, r.job, std::move(result));
  dispatch(self);
}

void on_submit(Self* self, const std::shared_ptr<Submission>& sub) {
  auto& st = self->state;
  const std::string id = sub->job.id;
  if (st.jobs.count(id) != 0) {
    ClusterJobResult r;
    r.status = make_error(ErrorCode::invalid_argument, "cluster job '" + id + "' exists already");
    if (sub->done) sub->done(std::move(r));
    return;
  }
  JobEntry entry;
  entry.sub = sub;
  for (const auto& [k, v] : sub->job.checkpoints)
    entry.checkpoints[k] = v;
  st.jobs.emplace(id, std::move(entry));
  st.queue.push_back(id);
  dispatch(self);
}

void on_cancel(Self* self, const std::string& id) {
  auto& st = self->state;
  auto it = st.jobs.find(id);
  if (it == st.jobs.end()) return;
  if (it->second.node == kLocalNode) cancel_local_job(self, id, it->second.attempt);
  if (it->second.node) {
    if (auto n = st.nodes.find(*it->second.node); n != st.nodes.end()) {
      self->send(n->second.handle, cancel_job_atom::value, id, it->second.attempt);
      n->second.jobs.erase(id);
    }
  }
  std::erase(st.queue, id);
  ClusterJobResult r;
  r.status = make_error(ErrorCode::cancelled, "cluster job '" + id + "' was cancelled");
  finish(self, id, std::move(r));
  dispatch(self);
}

void on_tick(Self* self) {
  auto& st = self->state;
  const auto now = Clock::now();
  std::vector<NodeId> dead;
  for (const auto& [id, n] : st.nodes)
    if (now - n.last_beat > st.shared->options.heartbeat_timeout) dead.push_back(id);
  for (NodeId id : dead)
    declare_dead(self, id, "missed heartbeats");
  report_local_load(self);
  publish_nodes(self);  // the view's load (metrics): each tick, not each of N heartbeats
  self->delayed_send(self, st.shared->options.heartbeat / 2, tick_atom::value);
}

}  // namespace

CoordinatorState::~CoordinatorState() {
  end_completions(*this);
  for (auto& [id, job] : jobs) {
    ClusterJobResult r;
    r.status = make_error(ErrorCode::cancelled, "the coordinator stopped");
    r.nodes = job.ran_on;
    if (job.sub->done) job.sub->done(std::move(r));
  }
}

caf::behavior coordinator_actor(Self* self, std::shared_ptr<CoordinatorShared> shared) {
  // Messages it has no handler for are dropped unprinted: CAF's default handler
  // (print_and_drop) stringifies them, and CAF 0.17 reads past a table stringifying a
  // caf::duration whose unit byte a peer set out of range (found by fuzz_cluster_wire).
  self->set_default_handler(caf::drop);
  auto& st = self->state;
  st.shared = std::move(shared);
  auto policy = make_policy(st.shared->options.policy);  // checked by Coordinator::start
  RouterOptions router;
  router.routed_grace = 2 * st.shared->options.heartbeat;  // a report may predate a route
  st.router = std::make_unique<Router>(std::move(*policy), router);
  self->set_down_handler([self](caf::down_msg& m) {
    auto it = self->state.by_addr.find(m.source);
    if (it != self->state.by_addr.end()) declare_dead(self, it->second, "connection lost");
    self->state.pending.erase(m.source);
  });
  self->send(self, tick_atom::value);
  return {
      [self](hello_atom, const NodeHello& h) { return on_hello(self, h); },
      [self](auth_atom, const AuthProof& p) { return on_auth(self, p); },
      [self](heartbeat_atom, const LoadReport& r) { return on_heartbeat(self, r); },
      [self](kv_event_atom, const KvEventMsg& m) { on_kv_event(self, m); },
      [self](kv_snapshot_atom, const KvSnapshotMsg& m) { on_kv_snapshot(self, m); },
      [self](checkpoint_atom, const JobCheckpoint& c) {
        if (auto* n = member(self)) on_checkpoint(self, n->id, c);
      },
      [self](job_done_atom, const JobResultMsg& r) {
        if (auto* n = member(self)) on_done(self, n->id, r);
      },
      [self](submit_atom, const std::shared_ptr<Submission>& sub) {
        // Only local callers can send this type (it has no serialization).
        on_submit(self, sub);
      },
      [self](const LocalCancel& c) { on_cancel(self, c.id); },  // no wire format: local only
      // Local only, as submit and cancel: these types have no wire format.
      [self](const std::shared_ptr<CompletionSubmission>& s) { on_completion_submit(self, s); },
      [self](const LocalCompletionCancel& c) { on_completion_cancel(self, c.id); },
      [self](completion_part_atom, const CompletionPart& p) {
        if (auto* n = member(self)) on_completion_part(self, n->id, p);
      },
      [self](drain_atom) { return on_drain(self); },
      [self](kv_ship_atom, KvShipment& s) { return on_kv_ship(self, s); },
      [self](tick_atom) { on_tick(self); },
      // The local engine's (coordinator_local.cpp); local only, without a wire format.
      [self](const LocalAttach& m) {
        on_local_attach(self, m);
        dispatch(self);
      },
      [self](const LocalCheckpoint& m) { on_checkpoint(self, kLocalNode, m.c); },
      [self](const LocalJobDone& m) {
        if (self->state.local) self->state.local->end_job(m.r.job, m.r.attempt);
        if (retry_lost_turns(self, m.r)) return dispatch(self);
        on_done(self, kLocalNode, m.r);
      },
      // Agent turns (coordinator_turns.cpp): TurnFrontJoin and RouteRequest are local only.
      [self](const TurnFrontJoin& j) { on_turn_front(self, j.front); },
      [self](route_turn_atom, const RouteRequest& r, std::int32_t count) {
        return on_route_turn(self, r, count);
      },
      [self](turn_engine_atom, const caf::actor& engine) {
        if (auto* n = member(self)) on_turn_engine(*n, engine);
      },
      [self](const LocalPart& m) { on_completion_part(self, kLocalNode, m.p); },
      [self](const LocalKvEvents& m) { on_local_kv_events(self, m); },
  };
}

}  // namespace agentrt::cluster
