// The coordinator actor's side of agent turns routed one by one (`--cluster-route turns`,
// turn_front.h, coordinator_actor.h): which node a turn goes to, the workers' engine fronts,
// and what a lost node means for the fronts and the jobs.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "cluster/coordinator_actor.h"
#include "cluster/engine_wire.h"

namespace agentrt::cluster {

void on_turn_front(CoordinatorSelf* self, const caf::actor& front) {
  if (front) self->state.turn_fronts.push_back(front);
}

void on_turn_engine(MemberNode& node, const caf::actor& engine) {
  if (!engine || node.engine) return;  // one per membership
  node.engine = engine;
  spdlog::info("cluster: node {} '{}' takes agent turns", node.id, node.name);
}

namespace {

TurnRoute route_one(CoordinatorSelf* self, const RouteRequest& request) {
  auto& st = self->state;
  auto decided = st.router->decide(request);
  MemberNode* to = nullptr;
  if (decided.ok() && decided->node != kLocalNode) {
    auto it = st.nodes.find(decided->node);
    if (it != st.nodes.end() && it->second.engine) to = &it->second;
    // Joined but its engine front not announced yet (a moment after its welcome): another.
    for (auto n = st.nodes.begin(); to == nullptr && n != st.nodes.end(); ++n)
      if (n->second.engine) to = &n->second;
  }
  if (to == nullptr || to->id > kMaxTurnNode) {
    ++st.local_turns_routed;  // the router chose the server's engine, or no worker is live
    return TurnRoute{};
  }
  ++to->turns_routed;
  spdlog::debug("cluster: turn of {} ({} prompt tokens, {} blocks cached) -> node {} '{}'",
                request.program.empty() ? "no program" : request.program, request.prompt_tokens,
                decided.ok() && decided->node == to->id ? decided->match.blocks : 0, to->id,
                to->name);
  return TurnRoute{to->id, to->engine, to->name};
}

}  // namespace

std::vector<TurnRoute> on_route_turn(CoordinatorSelf* self, const RouteRequest& request,
                                     std::int32_t count) {
  const auto n = static_cast<std::size_t>(
      std::clamp<std::int32_t>(count, 1, static_cast<std::int32_t>(kMaxWireSubscribers)));
  std::vector<TurnRoute> routes;
  routes.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    routes.push_back(route_one(self, request));
  return routes;
}

void turns_node_down(CoordinatorSelf* self, NodeId node, const std::string& name,
                     const std::string& kv_store) {
  auto& st = self->state;
  for (const auto& f : st.turn_fronts)
    self->send(f, TurnNodeDown{node, name});
  // The jobs that ran turns there run again on the others, which read what it kept on disk.
  if (!st.shared->options.route_turns || kv_store.empty()) return;
  for (const auto& [id, n] : st.nodes)
    if (n.kv_store != kv_store)
      self->send(n.handle, turn_orphan_atom::value, kv_store,
                 static_cast<std::int64_t>(kTurnOrphanHold.count()));
}

bool retry_lost_turns(CoordinatorSelf* self, const JobResultMsg& r) {
  auto& st = self->state;
  if (!st.shared->options.route_turns || r.error_code < 0 ||
      r.error_code == static_cast<std::int32_t>(ErrorCode::cancelled))
    return false;
  auto it = st.jobs.find(r.job);
  if (it == st.jobs.end() || it->second.node != kLocalNode || it->second.attempt != r.attempt)
    return false;
  auto& job = it->second;
  std::int64_t lost = 0;
  {
    std::lock_guard lock(st.shared->mu);
    lost = st.shared->counters.nodes_lost;
    if (lost <= job.losses_at_start || job.loss_retries >= kMaxTurnLossRetries) return false;
    ++st.shared->counters.jobs_moved;
  }
  // Its turns on the lost node ended with errors (turn_front.h); an unrelated failure while
  // a node was lost runs again too, at most kMaxTurnLossRetries times.
  spdlog::warn(
      "cluster: job {} (attempt {}) failed after a node was lost ({}); it runs again from its "
      "{} checkpoint(s)",
      r.job, r.attempt, r.error_message, job.checkpoints.size());
  ++job.loss_retries;
  ++job.attempt;
  job.node.reset();
  st.queue.push_front(r.job);
  return true;
}

}  // namespace agentrt::cluster
