// WorkflowRunner: runs a validated workflow on the actor runtime (actors/runtime.h). Steps
// start as soon as the steps they depend on are done, so independent steps run
// concurrently; every agent of one model runs on that model's single Runtime (one engine,
// from a RuntimePool shared with other runs), so shared prompt prefixes (system prompt, a
// shared document first in the input, a best-of prompt) are computed once and reused from
// the KV cache.
// Threads: start() returns at once; steps and units advance from the runtime's completion
// callbacks (no OS thread per step or map item). A run whose steps have a `timeout` or
// `retries` has one timer thread (run_timer.h), started at the first use. Hooks, events and
// `done` run on runtime threads, on that timer thread (a timeout, a retry), or on the
// caller's, inside start() and cancel(). cancel() and snapshot() may be called from any
// thread at any time.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "actors/runtime.h"
#include "actors/runtime_pool.h"
#include "actors/workflow/run_hooks.h"
#include "actors/workflow/step_status.h"
#include "engine/common/result.h"
#include "workflows/inputs.h"
#include "workflows/workflow.h"

namespace agentrt::actors::workflow {

// Units (agent runs or best-ofs: plain steps, map items, loop iterations) started at once
// by one run, over all its steps; more wait in the runner.
inline constexpr int kMaxRunUnits = 64;
// Live engine requests per model (RuntimeOptions::max_pending_requests) unless set; more
// wait in the runtime's queue.
inline constexpr int kDefaultRunnerLiveRequests = 1024;

struct RunnerOptions {
  std::string model_dir;           // replaces the path of the "default" (or only) model
  std::string fallback_model_dir;  // for models without a path (the CLI: tiny-calc)
  // kv_blocks, threads, max_live_requests and weight_check apply when the pool first loads
  // a model; a model already loaded keeps its own.
  int kv_blocks = 0;    // 0: the model's kv_blocks, else the pool's (backends::kDefaultKvBlocks)
  int threads = 0;      // 0: the model's threads, else all cores
  std::string backend;  // "cpu" or "cuda": replaces the default model's backend
  int max_live_requests = 0;                                     // 0: kDefaultRunnerLiveRequests
  model::WeightCheck weight_check = model::WeightCheck::sample;  // for every model loaded
  // kv_reuse blend: marked text shorter than this many tokens is not a segment (tests).
  int min_segment_tokens = kMinSegmentTokens;
  // The agent program the run belongs to (a REST job's `program`): its engine requests carry
  // Runtime::program_of_key(program), so the scheduler's program order and a cluster's
  // program_affinity (turn routing) keep a program's runs together. Empty: a program of the
  // run's own.
  std::string program;
};

// A plain progress line about one step ("calculator {"expression": "13 + 7"} -> 20").
using EventFn = std::function<void(const std::string& step, const std::string& line)>;

// A cancelled or failed run keeps what finished: done steps with their outputs, and in the
// steps that did not finish, `samples` lists the samples and map items that had ended.
struct WorkflowOutcome {
  Status status;  // the first step failure, or cancelled
  std::vector<std::pair<std::string, workflows::Value>> outputs;  // in declaration order
  std::vector<StepResult> steps;                                  // in file order
  std::vector<RuntimeMetrics> metrics;                            // one per runtime (model)
  double seconds = 0.0;
};

class WorkflowRunner {
 public:
  // Gets every model the agents use from `pool` (loading those it does not have yet) and
  // registers the workflow's tools on them. `pool` must outlive the runner. Errors: a model
  // that does not load, a backend other than cpu/cuda, a tool the runtime refuses.
  static Result<std::unique_ptr<WorkflowRunner>> create(const workflows::Workflow& wf,
                                                        const RunnerOptions& options,
                                                        RuntimePool& pool);
  // Cancels a run in progress and waits until its `done` has returned (unless called from
  // inside `done` itself). Must not be called from a hook or event.
  ~WorkflowRunner();

  // Starts the run and returns at once. `inputs` must be resolved (inputs.h); they are
  // copied. Steps in `resume` are not run again (run_hooks.h). On the first failing step
  // the running ones are cancelled and the rest skipped. `done` is called exactly once,
  // when every step has ended, after the last hook and event; it may run before start()
  // returns (a run with nothing left to do, or one cancelled before it started). Errors:
  // a second start() (a runner runs once).
  Status start(const workflows::InputValues& inputs, RunHooks hooks, ResumeState resume,
               std::function<void(WorkflowOutcome)> done);
  // start() and wait for the outcome; `events` gets each event's plain line.
  WorkflowOutcome run(const workflows::InputValues& inputs, EventFn events = {});
  // Cancels the run: running jobs end, nothing new starts, the outcome is cancelled. Called
  // before start(), the run ends at once when started (a runner is cancelled for good).
  void cancel();
  std::vector<StepStatus> snapshot() const;

  struct Impl;

 private:
  explicit WorkflowRunner(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;  // shared with the run's callbacks
};

// Where a model's weights come from: --model for the default model, else its path
// (relative to the workflow file), else the fallback.
std::string resolve_model_dir(const workflows::Workflow& wf, const workflows::ModelSpec& m,
                              const RunnerOptions& options);

}  // namespace agentrt::actors::workflow
