// The coordinator actor's side of the server's own engine (coordinator_actor.h,
// local_engine.h): it joins the router as node kLocalNode ("local"), never misses a heartbeat
// (its load is read each tick), and its KV events reach the index in-process.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "cluster/coordinator_actor.h"

namespace agentrt::cluster {

void on_local_attach(CoordinatorSelf* self, const LocalAttach& m) {
  auto& st = self->state;
  if (m.engine && !st.local) {
    if (m.candidate)
      if (auto s = st.router->join(kLocalNode, NodeInfo{kLocalNodeName, 0}); !s.ok()) {
        spdlog::error("cluster: the server's engine cannot join the router: {}", s.error().message);
        return;
      }
    st.local = m.engine;
    st.local_candidate = m.candidate;
    spdlog::info("cluster: node {} '{}' (the server's own engine) joined{}", kLocalNode,
                 kLocalNodeName, m.candidate ? "" : " to run jobs; turns go to workers");
  } else if (!m.engine && st.local) {
    if (st.local_candidate)
      st.router->leave(kLocalNode).permit_unchecked();  // it joined with the attach
    st.local.reset();                                   // the owner's stop_local() cancels its runs
    st.local_candidate = false;
    spdlog::info("cluster: the server's own engine left the cluster");
  }
  report_local_load(self);  // the caller publishes the nodes' view
}

void on_local_kv_events(CoordinatorSelf* self, const LocalKvEvents& m) {
  auto& st = self->state;
  if (!st.local_candidate) return;  // the router does not know the node
  for (const auto& e : m.events)
    st.router->apply(e).permit_unchecked();  // attached: the node is live
}

void report_local_load(CoordinatorSelf* self) {
  auto& st = self->state;
  if (!st.local_candidate) return;
  st.router->report_load(kLocalNode, st.local->load()).permit_unchecked();  // a candidate
}

void add_local_view(const CoordinatorState& state, std::vector<ClusterNodeView>& view) {
  if (!state.local) return;
  // The highest id: last, as the view is sorted by id.
  ClusterNodeView v{kLocalNode, kLocalNodeName, "", state.local->running_jobs()};
  const NodeLoad load = state.local->load();
  v.running = load.running;
  v.waiting = load.waiting;
  v.kv_available_blocks = static_cast<int>(std::max<std::int64_t>(load.free_blocks, 0));
  v.jobs_routed = state.local_jobs_routed;
  v.completions_routed = state.local_completions_routed;
  v.turns_routed = state.local_turns_routed;
  view.push_back(std::move(v));
}

void run_local_job(CoordinatorSelf* self, JobEntry& job, JobSpec spec) {
  auto& st = self->state;
  job.ran_on.push_back(kLocalNodeName);
  ++st.local_jobs_routed;
  spdlog::info("cluster: job {} (attempt {}) -> the server's engine ({} checkpoints)", spec.job,
               spec.attempt, spec.resume.size());
  st.local->start_job(spec, job.sub->job.run_here);
}

void cancel_local_job(CoordinatorSelf* self, const std::string& id, std::int32_t attempt) {
  if (self->state.local) self->state.local->cancel_job(id, attempt);
}

}  // namespace agentrt::cluster
