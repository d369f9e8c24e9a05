// JobManager::Live: a queued or running job's runtime state (internal to api/).
#pragma once

#include <memory>
#include <string>

#include "actors/workflow/workflow_runner.h"
#include "api/job_manager.h"
#include "workflows/inputs.h"
#include "workflows/workflow.h"

namespace agentrt::api {

struct JobManager::Live {
  std::string id;
  workflows::Workflow wf;         // loaded and validated
  workflows::InputValues inputs;  // resolved; outlives the runner
  // Shared so that cancel() and get() can use it outside the manager's lock while the
  // dispatcher may reap the job.
  std::shared_ptr<actors::workflow::WorkflowRunner> runner;
  bool interrupting = false;      // shutdown: the job stays running in the store
  bool cancel_requested = false;  // DELETE before the runner existed
};

// "step:3" and "unit:3:12": the checkpoint keys of a finished step and of a finished map
// item or loop iteration.
std::string step_checkpoint_key(int step);
std::string unit_checkpoint_key(int step, int unit);

}  // namespace agentrt::api
