// JobManager: the server's jobs. It checks and admits submissions, makes each durable before
// answering (storage::JobStore, synced WAL), runs them on the workflow runner over a shared
// RuntimePool, checkpoints every finished step and map item, keeps each job's event log, and
// on start resumes every job that had not finished: finished steps are not run again,
// interrupted ones restart from their checkpoints, their KV comes back from the snapshot
// store. A record that fails its checksum or does not parse fails its job with the reason;
// it never stops the server.
//
// Threads: every public method may be called from any thread (HTTP workers). Jobs start on
// the manager's dispatcher thread (a model may load there); runner callbacks arrive on
// runtime threads and take the manager's lock only briefly.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "actors/runtime_pool.h"
#include "actors/workflow/workflow_runner.h"
#include "api/body/api_error.h"
#include "api/body/job_request.h"
#include "api/job_record.h"
#include "api/remote_jobs.h"
#include "storage/job_store.h"
#include "workflows/tool_policy.h"

namespace agentrt::api {

struct JobManagerOptions {
  std::filesystem::path workflows_dir;  // where {"workflow": NAME} is looked up
  // Directories a workflow's models must lie in (after symlinks are resolved). The first is
  // the default model (models without a path).
  std::vector<std::filesystem::path> model_roots;
  actors::workflow::RunnerOptions runner;  // backend, kv_blocks, threads, weight check
  int max_running_jobs = 8;                // jobs executing at once
  int max_queued_jobs = 64;                // accepted and waiting; beyond: 429
  int max_jobs_per_client = 32;            // queued + running per client; beyond: 429
  std::size_t max_jobs_kept = 100000;      // finished jobs beyond it are forgotten, oldest first
  // Tools that reach the network or run programs (http, command and custom commands, MCP
  // servers): off unless the server enables them (`agentrt serve --allow-tools`). A workflow
  // declaring one that is off is refused with its place (422 invalid_workflow).
  workflows::ToolPolicy tools;
  // A cluster (`agentrt serve --cluster-port`): while it has a live node, jobs start there
  // instead of on this process's runner. Null: every job runs here.
  std::shared_ptr<RemoteJobs> remote;
};

// The answer to a submission.
struct Submitted {
  std::string id;
  bool replayed = false;  // an earlier submission with the same Idempotency-Key
};

// Events of one job after a sequence number, and whether no more will come.
struct EventsPage {
  std::vector<storage::StoredEvent> events;
  bool finished = false;
};

class JobManager {
 public:
  // Opens the job store on `db`, marks damaged records' jobs failed, queues every unfinished
  // job for resumption and starts the dispatcher. `pool` must outlive the manager.
  static Result<std::unique_ptr<JobManager>> open(JobManagerOptions options,
                                                  std::shared_ptr<storage::Db> db,
                                                  actors::RuntimePool& pool);
  // shutdown(), if not yet called.
  ~JobManager();
  JobManager(const JobManager&) = delete;
  JobManager& operator=(const JobManager&) = delete;

  // Checks the workflow and inputs, admits the job (capacity, the client's limit), writes it
  // durably and queues it. Errors: 422 (workflow diagnostics with file:line:col, inputs,
  // models outside model_roots), 404 (an unknown workflow name), 409 (an Idempotency-Key
  // reused with another body), 429 (full; retry_after set), 503 (shutting down), 500 (the
  // store refused the write: nothing was accepted).
  ApiOr<Submitted> submit(const JobRequest& request, const std::string& client,
                          const std::string& idempotency_key, const std::string& body_hash);
  // The public view of a job (live step states while it runs); nullopt when unknown.
  std::optional<nlohmann::json> get(const std::string& id) const;
  // Jobs in id (creation) order after `cursor`, optionally of one state:
  // {"jobs": [...], "next_cursor": id or null}.
  nlohmann::json list(std::optional<JobState> state, int limit, const std::string& cursor) const;
  // The number of known jobs in each state (every state, zero included), by to_string(state).
  // Finished jobs past max_jobs_kept are forgotten, so they no longer count.
  std::map<std::string, std::int64_t> counts_by_state() const;
  // Cancels a queued or running job (its KV is released). Errors: 404 unknown, 409 finished.
  ApiOr<nlohmann::json> cancel(const std::string& id);
  // Events with seq > after; waits up to `wait` for the first one while the job runs.
  // Errors: 404 unknown job, 500 store failure.
  ApiOr<EventsPage> events(const std::string& id, std::int64_t after,
                           std::chrono::milliseconds wait);
  // Same diagnostics as `agentrt validate`: {"valid", "errors": [{line, column, message}]}.
  nlohmann::json validate(const std::string& yaml) const;

  // Stops taking jobs, stops the running ones without ending them (their state stays
  // running, so the next start resumes them from their checkpoints) and stops the
  // dispatcher. Idempotent.
  void shutdown();
  bool accepting() const;
  // What recovery dropped at open (job id and reason), for the startup log and tests.
  const std::vector<storage::DroppedRecord>& dropped_at_open() const { return dropped_; }
  int resumed_at_open() const { return resumed_; }

  struct Live;

 private:
  JobManager(JobManagerOptions options, std::shared_ptr<storage::Db> db,
             std::unique_ptr<storage::JobStore> store, actors::RuntimePool& pool);
  Status recover();
  void dispatch_loop();
  void start_job(const std::string& id);
  Status launch(Live& live);
  Status launch_remote(Live& live);  // job_remote.cpp
  // The hooks of a run of job `id`: each checkpoint stored, its step's view updated.
  actors::workflow::RunHooks run_hooks(const std::string& id);
  void on_done(const std::string& id, actors::workflow::WorkflowOutcome outcome);
  void fail_job(const std::string& id, const Error& e);
  void emit(const std::string& id, nlohmann::json event, bool sync = false);
  Status persist(const JobRecord& r, bool sync);
  ApiOr<workflows::Workflow> load_checked(
      const std::string& yaml, const std::string& file,
      const std::vector<std::pair<std::string, std::string>>& inputs,
      workflows::InputValues* values) const;
  ApiOr<std::string> read_named(const std::string& name) const;
  // The job's kv_reuse override (JobRecord::kv_reuse), when it has one, on `wf`.
  static void apply_kv_reuse(const JobRecord& rec, workflows::Workflow& wf);
  void forget_old_jobs();  // under mu_
  // 429 when the server or this client has no room for another job (takes mu_).
  std::optional<ApiError> admission_error(const std::string& client) const;
  // The answer to a repeated Idempotency-Key (the job, or 409 for another body), if any.
  std::optional<ApiOr<Submitted>> replay(const std::string& index_key,
                                         const std::string& body_hash) const;

  JobManagerOptions opt_;
  std::shared_ptr<storage::Db> db_;
  std::unique_ptr<storage::JobStore> store_;
  actors::RuntimePool& pool_;

  mutable std::mutex mu_;                  // guards everything below
  std::condition_variable cv_;             // dispatcher wake-ups
  std::condition_variable events_cv_;      // a job emitted an event or ended
  std::map<std::string, JobRecord> jobs_;  // every known job (yaml dropped once finished)
  std::map<std::string, std::unique_ptr<Live>> live_;  // queued or running
  std::deque<std::string> pending_;                    // queued, in order
  std::vector<std::unique_ptr<Live>> reap_;            // ended runners, destroyed off-callback
  int running_ = 0;
  std::uint64_t event_gen_ = 0;  // bumped by every event (events() waits for a change)
  bool stopping_ = false;
  std::uint32_t id_counter_ = 0;
  std::vector<storage::DroppedRecord> dropped_;
  int resumed_ = 0;
  std::mutex submit_mu_;  // one admission at a time (re-checks and the durable write)
  std::thread dispatcher_;
};

}  // namespace agentrt::api
