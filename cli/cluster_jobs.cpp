// ClusterJobs (cluster_jobs.h): a job's checkpoints and result between the coordinator's
// JSON and the workflow runner's types.
#include "cli/cluster_jobs.h"

#include <spdlog/spdlog.h>

#include <cstdio>

#include "actors/workflow/checkpoint.h"
#include "cluster/job_prefix.h"

namespace agentrt::cli {
namespace {

namespace wf = actors::workflow;

// Calls the hook of one checkpoint ("step:N" or "unit:N:M"); a malformed one is logged.
void replay_checkpoint(const wf::RunHooks& hooks, const std::string& job, const std::string& key,
                       const std::string& text) {
  const auto doc = nlohmann::json::parse(text, nullptr, false);
  int step = -1, unit = -1;
  char tail = 0;
  if (!doc.is_discarded() && std::sscanf(key.c_str(), "unit:%d:%d%c", &step, &unit, &tail) == 2) {
    auto u = wf::unit_outcome_from_json(doc);
    if (u.ok()) {
      if (hooks.unit_done) hooks.unit_done(step, unit, *u);
      return;
    }
  } else if (!doc.is_discarded() && std::sscanf(key.c_str(), "step:%d%c", &step, &tail) == 1) {
    auto s = wf::step_result_from_json(doc);
    if (s.ok()) {
      if (hooks.step_done) hooks.step_done(step, *s);
      return;
    }
  }
  spdlog::warn("job {}: a node sent a malformed checkpoint '{}'", job, key);
}

wf::WorkflowOutcome outcome_of(const cluster::ClusterJobResult& r) {
  wf::WorkflowOutcome out;
  out.status = r.status;
  if (!r.report.is_object()) return out;
  if (auto o = r.report.find("outputs"); o != r.report.end() && o->is_object())
    for (const auto& [name, v] : o->items()) {
      if (v.is_array()) {
        std::vector<std::string> items;
        for (const auto& i : v)
          items.push_back(i.is_string() ? i.get<std::string>() : i.dump());
        out.outputs.emplace_back(name, workflows::Value(std::move(items)));
      } else {
        out.outputs.emplace_back(name,
                                 workflows::Value(v.is_string() ? v.get<std::string>() : v.dump()));
      }
    }
  if (auto s = r.report.find("steps"); s != r.report.end() && s->is_array())
    for (const auto& step : *s)
      if (auto parsed = wf::step_result_from_json(step); parsed.ok())
        out.steps.push_back(std::move(*parsed));
  return out;
}

}  // namespace

ClusterJobs::ClusterJobs(std::unique_ptr<cluster::Coordinator> coordinator)
    : coordinator_(std::move(coordinator)) {}

bool ClusterJobs::available() const {
  return !coordinator_->nodes().empty();
}

void ClusterJobs::start(api::RemoteJob job) {
  cluster::ClusterJob cj;
  cj.id = job.id;
  cj.workflow_yaml = std::move(job.yaml);
  cj.workflow_file = std::move(job.file);
  cj.inputs = std::move(job.inputs);
  cj.checkpoints = std::move(job.checkpoints);
  cj.kv_reuse = std::move(job.kv_reuse);
  cj.blend_recompute = job.blend_recompute;
  cj.blend_anchors = job.blend_anchors;
  cj.program = std::move(job.program);
  cj.run_here = std::move(job.run_here);
  if (job.keys_runtime != nullptr) {  // a job that cannot be keyed is routed without keys
    if (auto prefix =
            cluster::job_prefix(*job.keys_runtime, cj.workflow_yaml, cj.workflow_file, cj.inputs);
        prefix.ok()) {
      cj.blocks = std::move(prefix->blocks);
      cj.prompt_tokens = prefix->prompt_tokens;
    }
  }
  auto hooks = std::make_shared<wf::RunHooks>(std::move(job.hooks));
  cj.on_checkpoint = [hooks, id = job.id](const std::string& key, const std::string& text) {
    replay_checkpoint(*hooks, id, key, text);
  };
  coordinator_->submit(std::move(cj), [done = std::move(job.done)](cluster::ClusterJobResult r) {
    std::string where;
    for (const auto& n : r.nodes)
      where += (where.empty() ? "" : ", then ") + n;
    if (!where.empty()) spdlog::info("cluster: the job ran on {}", where);
    done(outcome_of(r));
  });
}

void ClusterJobs::cancel(const std::string& id) {
  coordinator_->cancel(id);
}

api::ClusterMetrics ClusterJobs::metrics() const {
  api::ClusterMetrics m;
  for (const auto& n : coordinator_->nodes())
    m.nodes.push_back({n.name, n.running, n.waiting, n.kv_blocks, n.kv_available_blocks,
                       n.jobs_routed, n.completions_routed, n.turns_routed});
  const auto c = coordinator_->counters();
  m.nodes_refused = c.refused;
  m.nodes_lost = c.nodes_lost;
  m.jobs_moved = c.jobs_moved;
  m.completions_moved = c.completions_moved;
  return m;
}

}  // namespace agentrt::cli
