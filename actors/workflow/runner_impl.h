// WorkflowRunner's state, shared by workflow_runner.cpp (models, the public calls, the
// outcome), run_scheduler.cpp (which step or unit goes next, step ends) and
// step_execution.cpp (starting units on the runtime, their ends, progress and events).
// Internal to this library.
//
// The run has no thread of its own: start(), cancel() and every runtime callback (a job's
// done, progress) enter the run, change its state under `mu`, then pump(): pick one action
// under the lock (begin a step, start a unit, complete a step), do it outside the lock, and
// repeat until nothing is left to do. When every step has ended, the last thread to leave
// the run delivers `done`, so no callback of this run is still inside it by then. The
// RunTimer's callbacks (a unit's timeout, a retry after its backoff) enter the run the same
// way; a pending retry keeps its step running, so the run cannot end under it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <tuple>

#include "actors/mcp/job_tools.h"
#include "actors/workflow/run_timer.h"
#include "actors/workflow/workflow_runner.h"
#include "workflows/pattern.h"
#include "workflows/planner.h"

namespace agentrt::actors::workflow {

// A conversation as a JSON array of OpenAI-style messages (role, content, tool calls).
std::string messages_json(const chat::Conversation& c);

// Extra template names inside one unit: the map item, loop.index / loop.previous.
using Extras = std::map<std::string, workflows::Value>;

// A unit to start: map item `item` (0 without map), at loop iteration `iteration`.
struct PendingUnit {
  int item = 0;
  int iteration = 0;
  std::string previous;  // loop.previous
  int attempt = 1;       // 2.. for a retry of a failed unit (Step::retries)
};

// A running step's units (guarded by Impl::mu).
struct StepRun {
  bool begun = false;         // items and the ready queue are set (then items never change)
  bool completing = false;    // complete_step was picked
  std::vector<Extras> items;  // per map item; one empty entry without map
  std::vector<std::optional<UnitOutcome>> outcomes;  // per item: its (last) outcome
  std::deque<PendingUnit> ready;
  std::size_t width = 1;                    // units of this step at once (map.concurrency)
  int active = 0;                           // started, not ended
  int backing_off = 0;                      // failed units waiting to retry (Step::backoff)
  std::optional<workflows::Pattern> until;  // a loop's end condition
  std::optional<Error> error;               // the first failure of a unit
};

// A job in flight, for cancel(): its id arrives once start_* returns, which may be after
// the job has ended.
struct JobSlot {
  Runtime* rt = nullptr;
  std::optional<JobId> id;
  bool ended = false;
  std::uint64_t timer = 0;  // the unit's timeout (RunTimer id; 0: none)
  bool timed_out = false;   // the timeout fired and cancelled the job
};

struct WorkflowRunner::Impl : std::enable_shared_from_this<WorkflowRunner::Impl> {
  workflows::Workflow wf;
  RunnerOptions opt;
  std::map<std::string, Runtime*> runtimes;  // by model name; owned by the RuntimePool
  // The run's scheduler program on each runtime: every agent of the run is one program, so
  // the engine ranks its steps together (EngineOptions::order). Set by create().
  std::map<const Runtime*, std::int64_t> programs;
  std::vector<std::vector<workflows::StepEdge>> dependencies;  // per step
  // The run's tools (workflow_tools.h): every agent's registry; set by create().
  std::unique_ptr<mcp::JobTools> job_tools;
  // Workflow-aware KV (reuse_plan.h): per step, its runtime and its agent's prefix tokens
  // (empty: unknown), set by start() and then read-only; the owner ids of its hints are
  // hint_base + step.
  std::vector<Runtime*> step_runtime;
  std::vector<std::vector<std::int32_t>> step_prefix;
  std::int64_t hint_base = 0;

  // --- the run; guarded by mu unless noted ---
  mutable std::mutex mu;
  std::condition_variable cv;  // `delivered`
  bool started = false;
  std::vector<StepStatus> status;
  std::vector<StepResult> results;
  std::vector<std::chrono::steady_clock::time_point> started_at;
  std::vector<StepRun> steps;
  std::vector<std::vector<SampleSummary>> ended;  // per step: samples / units that ended
  std::vector<int> hinted;  // per step: the steps-to-next-use last sent (kNoNextUse: none)
  // (step, job, sample) -> the generated and cached tokens its progress reported last
  std::map<std::tuple<int, JobId, int>, std::pair<std::int64_t, std::int64_t>> tokens_seen;
  std::set<std::shared_ptr<JobSlot>> jobs;  // in flight
  int active_units = 0;                     // over all steps (<= kMaxRunUnits)
  bool stop = false;                        // no new steps or units: a failure or cancel()
  bool cancelled = false;                   // cancel() was called
  std::optional<Error> first_error;
  int inside = 0;          // threads inside the run (entered, not left)
  bool finishing = false;  // every step has ended: no more events or actions
  bool done_called = false;
  bool delivered = false;  // `done` returned
  std::thread::id done_thread;
  std::chrono::steady_clock::time_point t0;
  // Set by start(), then read-only (no lock needed).
  workflows::InputValues inputs;
  RunHooks hooks;
  ResumeState resume;
  std::function<void(WorkflowOutcome)> done;
  // Step timeouts and retry waits (its thread starts at the first use). Its callbacks hold
  // the run weakly; a run that stops expedites them.
  RunTimer timer;

  // workflow_runner.cpp
  void enter();
  void leave();  // the last one out of a finished run delivers `done`
  WorkflowOutcome make_outcome();

  // run_scheduler.cpp
  void pump();
  void begin_step(int step);
  void complete_step(int step);
  // Sends each step's changed steps-to-next-use to its runtime (Runtime::hint_reuse):
  // computed under mu, sent outside it. Called whenever pump() runs out of actions.
  void send_hints();
  // The agent prefix tokens of each step (start(), before the first pump).
  void plan_prefixes();
  // Records a unit's or step's failure; stops the run at the first one (the jobs to cancel
  // are added to `cancel`). Under mu.
  void fail_locked(int step, const Error& e, std::vector<std::shared_ptr<JobSlot>>& cancel);
  static void cancel_jobs(const std::vector<std::shared_ptr<JobSlot>>& jobs);
  // Control flow (step_control.cpp): `when` before a step begins (false: the step ends as
  // skipped, with `reason`); a unit's timeout; a failed unit's retry after its backoff.
  // True when the step was skipped or failed here (begin_step stops).
  bool check_when(int step);
  void skip_step(int step, const std::string& reason);
  void arm_timeout(int step, const std::shared_ptr<JobSlot>& slot);
  // A unit's failure: retried (true: a retry is scheduled) or not. Under mu.
  bool retry_locked(int step, const PendingUnit& u, const Error& e, RunEvent& event,
                    std::chrono::milliseconds& wait);
  void schedule_retry(int step, PendingUnit u, std::chrono::milliseconds wait);
  // What a job's error becomes: a timeout when the step's timer cancelled it.
  Error unit_error(int step, const std::shared_ptr<JobSlot>& slot, const Error& e) const;

  // step_execution.cpp
  void start_unit(int step, PendingUnit u);
  void unit_ended(int step, const PendingUnit& u, Result<UnitOutcome> r);
  Result<std::string> render(const workflows::TemplateText& t, const Extras& extras) const;
  // segment_marks.cpp (issue 21): render, and where its path expressions' values (step
  // outputs and fields, map items, inputs, loop.previous) landed, into `marks`.
  Result<std::string> render_marked(const workflows::TemplateText& t, const Extras& extras,
                                    std::vector<TextSpan>& marks) const;
  // `agent`'s KV reuse for `step` (step over agent over workflow); under blend, its
  // system_segments, and `input_segments` for `input` (rendered with `input_marks`) with
  // the tool results of done steps that occur in it carved out as segments of their own.
  void set_kv_reuse(AgentSpec& agent, const workflows::AgentSpec& wa, const workflows::Step& step,
                    const std::string& input, std::vector<TextSpan> input_marks) const;
  std::optional<workflows::Value> lookup(const std::vector<std::string>& path,
                                         const Extras& extras) const;
  Result<AgentSpec> agent_spec(const workflows::AgentSpec& a) const;
  // The step's best_of with its templates rendered; may set agent's temperature.
  Result<BestOfSpec> best_of_spec(const workflows::Step& step, AgentSpec& agent) const;
  void on_progress(int step, int unit, const Progress& p);
  void emit(const RunEvent& e) const;
  // The run's jobs: a slot is registered before its job starts; the id is set once known
  // (cancelled at once when the run has stopped by then).
  std::shared_ptr<JobSlot> add_slot(Runtime* rt);
  void set_job_id(const std::shared_ptr<JobSlot>& slot, JobId id);
  void end_slot(const std::shared_ptr<JobSlot>& slot);  // also disarms its timeout
};

}  // namespace agentrt::actors::workflow
