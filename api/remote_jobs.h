// RemoteJobs: another place the job manager can run a job, instead of its own runner: a
// cluster's coordinator (cluster/coordinator.h), wired in by `agentrt serve --cluster-port`.
// The manager still owns the job: its record, checkpoints, events and final state.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "actors/workflow/run_hooks.h"
#include "actors/workflow/workflow_runner.h"

namespace agentrt::api {

struct RemoteJob {
  std::string id;
  std::string yaml;
  std::string file;                                              // names the YAML in messages
  std::vector<std::pair<std::string, std::string>> inputs;       // resolved values, as text
  std::vector<std::pair<std::string, std::string>> checkpoints;  // the store's: key -> JSON
  // The job's kv_reuse override (JobRecord::kv_reuse: "", "exact" or "blend") and its
  // blend_recompute and blend_anchors, which the node applies to the workflow it loads from
  // `yaml`.
  std::string kv_reuse{};
  std::optional<double> blend_recompute{};
  std::optional<bool> blend_anchors{};
  // The job's program (JobRecord::program): a cluster keeps a program's jobs together
  // (ClusterJob::program). Empty: a program of its own.
  std::string program{};
  // A runtime of the model the job's prompts render for (the server's, when it serves one
  // model): the cluster keys the job's first prompt with it (cluster/job_prefix.h) to route
  // it by cached prefix. Null: routed without prefix keys.
  const actors::Runtime* keys_runtime = nullptr;
  // step_done and unit_done are called as a local run calls them (each new checkpoint);
  // `done` exactly once, with outputs, steps and status (cancelled after cancel()).
  actors::workflow::RunHooks hooks;
  std::function<void(actors::workflow::WorkflowOutcome)> done;
  // Starts the job on this process's own engine instead, as a local run (with its run
  // events), from `resume`, reporting through the given hooks and done: for a cluster whose
  // router may pick the server itself (`--cluster-local-engine`). Returns the runner
  // (cancel() stops it; destroying it waits for its done). Any thread.
  std::function<Result<std::shared_ptr<actors::workflow::WorkflowRunner>>(
      actors::workflow::ResumeState resume, actors::workflow::RunHooks hooks,
      std::function<void(actors::workflow::WorkflowOutcome)> done)>
      run_here;
};

class RemoteJobs {
 public:
  virtual ~RemoteJobs() = default;
  // Whether a job started now runs remotely (some node is live). Any thread.
  virtual bool available() const = 0;
  // Starts the job; it waits remotely while no node is live. Any thread.
  virtual void start(RemoteJob job) = 0;
  // Cancels a job started here; unknown ids are ignored. Any thread.
  virtual void cancel(const std::string& id) = 0;
};

}  // namespace agentrt::api
