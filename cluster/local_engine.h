// LocalEngine: the coordinator's own engine as a member of its router (`agentrt serve
// --cluster-local-engine`, docs/cluster.md): node kLocalNode, named "local", never dead. It
// runs the jobs and completions the router gives it in this process, each through a closure
// the server attached to it (ClusterJob::run_here, ClusterCompletion::run_here: the server's
// own run, as with no cluster), and reports back in a worker's message shapes (checkpoints,
// a job result, completion parts), so the coordinator's staleness checks and cancels apply
// unchanged.
// Threads: every method may be called from any thread; the callbacks run on the runs' threads
// and must return quickly. Jobs start, cancel and end on a thread of the engine's own, in the
// order asked: never on the caller's (a CAF thread of the coordinator's actor system, whose
// scheduler must not run or release the Runtime's actors: a detached tool actor then kept
// the Runtime's actor system from stopping).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "actors/workflow/workflow_runner.h"
#include "api/openai_run.h"
#include "cluster/node_completions.h"
#include "cluster/policy.h"
#include "cluster/wire.h"

namespace agentrt::cluster {

// The local engine's node id, reserved (workers count up from 1). Policies break ties by the
// lowest id, so between equally good nodes a worker wins: the server's engine takes what it
// holds the prefix of, or what the workers are too loaded for.
inline constexpr NodeId kLocalNode = std::numeric_limits<NodeId>::max();
inline constexpr const char* kLocalNodeName = "local";

// Starts a completion on the server's engine as its route would (errors: those before the
// reply began).
using LocalCompletionFn = std::function<api::ApiOr<std::unique_ptr<api::OpenAiCall>>()>;
// Starts a job on the server's engine as a local run would, from `resume`, reporting through
// `hooks` and `done` (exactly once); returns its runner (destroying it waits for `done`).
using LocalJobFn = std::function<Result<std::shared_ptr<actors::workflow::WorkflowRunner>>(
    actors::workflow::ResumeState resume, actors::workflow::RunHooks hooks,
    std::function<void(actors::workflow::WorkflowOutcome)> done)>;

struct LocalEngineCallbacks {
  // The engines' load without the runs counted here: `waiting` and `free_blocks` (summed
  // over the server's models). Called on the coordinator's thread; must be quick.
  std::function<NodeLoad()> engine_load;
  std::function<void(JobCheckpoint)> checkpoint;
  std::function<void(JobResultMsg)> job_done;  // after the job's last checkpoint
  std::function<void(CompletionPart)> part;
};

class LocalEngine {
 public:
  explicit LocalEngine(LocalEngineCallbacks callbacks);
  // shutdown().
  ~LocalEngine();
  LocalEngine(const LocalEngine&) = delete;
  LocalEngine& operator=(const LocalEngine&) = delete;

  // Starts job `spec` through `run`; a job that cannot start (no closure, a corrupt
  // checkpoint, the runner refused, shut down) gets its job_done with the error.
  void start_job(const JobSpec& spec, const LocalJobFn& run);
  // Cancels the job's run (its job_done follows). Other attempts are ignored.
  void cancel_job(const std::string& id, std::int32_t attempt);
  // Drops a job's runner once its job_done came. Other attempts are ignored.
  void end_job(const std::string& id, std::int32_t attempt);
  // Runs `call` through `run` on its own thread: a head, the reply's bytes, an end; or one
  // error part before the reply began.
  void start_completion(CompletionCall call, LocalCompletionFn run);
  // Stops the call's reply and sends nothing more for it.
  void cancel_completion(std::uint64_t id, std::int32_t attempt);
  // The engines' load with `running` set to the jobs and completions running here (a
  // worker's heartbeat counts the same); zero once shut down (engine_load is not called).
  NodeLoad load() const;
  int running_jobs() const;
  // Cancels every run and waits for it; later starts are refused (a job ends cancelled, a
  // completion with a 503 part).
  void shutdown();

 private:
  void post(std::function<void()> task);  // runs on jobs_thread_, in order
  void run_tasks();
  void refuse(const std::string& id, std::int32_t attempt, const Error& e);

  LocalEngineCallbacks cb_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false;                     // guarded by mu_
  std::deque<std::function<void()>> tasks_;  // guarded by mu_
  // By job id: the attempt and its runner.
  std::map<std::string, std::pair<std::int32_t, std::shared_ptr<actors::workflow::WorkflowRunner>>>
      jobs_;                                      // guarded by mu_
  std::unique_ptr<NodeCompletions> completions_;  // guarded by mu_; null once stopped
  std::thread jobs_thread_;                       // last: it uses the members above
};

}  // namespace agentrt::cluster
