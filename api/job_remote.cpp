// JobManager::launch_remote: a job run on the cluster (RemoteJobs) instead of this process's
// runner, with the same checkpoints, step views and end as a local run.
#include <spdlog/spdlog.h>

#include "api/job_live.h"
#include "api/job_manager.h"

namespace agentrt::api {

Status JobManager::launch_remote(Live& live) {
  const std::string id = live.id;
  RemoteJob job;
  job.id = id;
  bool cancel_now = false;
  {
    std::lock_guard lk(mu_);
    const auto& rec = jobs_[id];
    job.yaml = rec.yaml;
    job.file = rec.workflow_name.empty() ? "inline.yaml" : rec.workflow_name;
    job.kv_reuse = rec.kv_reuse;
    job.blend_recompute = rec.blend_recompute;
    job.blend_anchors = rec.blend_anchors;
    job.program = rec.program;
    cancel_now = live.cancel_requested || stopping_;
    if (stopping_) live.interrupting = true;
  }
  for (const auto& [name, value] : live.inputs)
    job.inputs.emplace_back(name,
                            value.is_list() ? nlohmann::json(value.list()).dump() : value.text());
  std::vector<storage::DroppedRecord> dropped;
  auto cps = store_->checkpoints(id, &dropped);
  if (!cps.ok()) return cps.error();
  if (!dropped.empty())
    return make_error(ErrorCode::corrupt,
                      dropped.front().what + " is damaged: " + dropped.front().reason);
  for (const auto& [key, doc] : *cps)
    job.checkpoints.emplace_back(
        key, doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  job.hooks = run_hooks(id);
  if (auto loaded = pool_.all(); loaded.size() == 1) job.keys_runtime = loaded.front();
  job.done = [this, id](actors::workflow::WorkflowOutcome outcome) {
    on_done(id, std::move(outcome));
  };
  // The workflow outlives the runner (its deleter holds it); the inputs are copied at start.
  auto wf = std::make_shared<const workflows::Workflow>(live.wf);
  job.run_here = [this, id, wf, inputs = live.inputs, program = job.program](
                     actors::workflow::ResumeState resume, actors::workflow::RunHooks hooks,
                     std::function<void(actors::workflow::WorkflowOutcome)> done)
      -> Result<std::shared_ptr<actors::workflow::WorkflowRunner>> {
    actors::workflow::RunnerOptions ro = opt_.runner;
    ro.program = program;  // turn routing keys the job's turns by it (program_affinity)
    auto created = actors::workflow::WorkflowRunner::create(*wf, ro, pool_);
    if (!created.ok()) return created.error();
    std::shared_ptr<actors::workflow::WorkflowRunner> runner(
        created->release(), [wf](actors::workflow::WorkflowRunner* r) { delete r; });
    hooks.event = run_hooks(id).event;
    if (auto st = runner->start(inputs, std::move(hooks), std::move(resume), std::move(done));
        !st.ok())
      return st.error();
    return runner;
  };
  spdlog::info("job {} runs on the cluster ({} checkpoints)", id, job.checkpoints.size());
  opt_.remote->start(std::move(job));
  if (cancel_now) opt_.remote->cancel(id);
  return ok_status();
}

}  // namespace agentrt::api
