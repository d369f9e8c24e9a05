// One workflow job on a worker node: the JobSpec's workflow, loaded and validated from its
// text, run on the node's RuntimePool from the checkpoints of earlier attempts, reporting
// each new checkpoint and the result through callbacks (the node actor forwards them).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "actors/runtime_pool.h"
#include "actors/workflow/run_hooks.h"
#include "cluster/wire.h"
#include "engine/common/result.h"
#include "workflows/workflow.h"

namespace agentrt::actors::workflow {
class WorkflowRunner;
struct WorkflowOutcome;
}  // namespace agentrt::actors::workflow

namespace agentrt::cluster {

struct NodeJobOptions {
  std::string model_dir;           // RunnerOptions::model_dir
  std::string fallback_model_dir;  // RunnerOptions::fallback_model_dir
  std::string backend;
  int threads = 0;
  int kv_blocks = 0;
};

// The job's kv_reuse override (JobSpec::kv_reuse, blend_recompute_ppm, blend_anchors) on `wf`,
// as the server applies a REST job's (api::JobManager::apply_kv_reuse); none when kv_reuse is
// empty.
// Errors (invalid_argument): a mode other than exact or blend, blend_recompute above 1,
// blend_anchors other than -1, 0 or 1.
Status apply_kv_reuse(const JobSpec& spec, workflows::Workflow& wf);

// The resume state of checkpoints named "step:N" or "unit:N:M" (the job store's keys).
// Errors (corrupt): a key of another shape, a checkpoint that does not parse.
Result<actors::workflow::ResumeState> resume_state_of(const std::vector<NamedText>& checkpoints);

// Run hooks that report each finished step ("step:N") and map item or loop iteration
// ("unit:N:M") as a checkpoint (key, JSON), on the runner's threads.
actors::workflow::RunHooks checkpoint_hooks(std::function<void(NamedText)> checkpoint);
// The result message of a run's outcome: its error, and {"outputs", "steps"} as JSON.
JobResultMsg job_result(const std::string& job, std::int32_t attempt,
                        const actors::workflow::WorkflowOutcome& outcome);

class NodeJob {
 public:
  using CheckpointFn = std::function<void(NamedText)>;
  using DoneFn = std::function<void(JobResultMsg)>;
  // Starts the job; `checkpoint` and `done` run on runtime threads (`done` exactly once,
  // after the last checkpoint). Errors: the workflow or its inputs are invalid (their
  // diagnostics), a checkpoint is corrupt, the runner cannot be created.
  static Result<std::unique_ptr<NodeJob>> start(const JobSpec& spec, const NodeJobOptions& options,
                                                actors::RuntimePool& pool, CheckpointFn checkpoint,
                                                DoneFn done);
  // Cancels the run and waits for its `done` to have returned.
  ~NodeJob();
  // Cancels the run; `done` follows with a cancelled error.
  void cancel();

 private:
  NodeJob() = default;
  std::unique_ptr<actors::workflow::WorkflowRunner> runner_;
};

}  // namespace agentrt::cluster
