// WorkflowRunner: runs a validated workflow on the actor runtime (actors/runtime.h). Steps
// start as soon as the steps they depend on are done, so independent steps run
// concurrently; every agent of one model runs on that model's single Runtime (one engine,
// from a RuntimePool shared with other runs), so shared prompt prefixes (system prompt, a
// shared document first in the input, a best-of prompt) are computed once and reused from
// the KV cache.
// Threads: run() blocks its caller and runs steps on a pool of at most kMaxStepThreads
// threads (ready steps beyond it wait); map items run on the step's thread plus at most
// kMaxUnitThreads more per run, whatever the list's length. cancel() and snapshot() may be
// called from any thread while run() is in progress. Events arrive on runner threads and
// must return quickly.
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
#include "actors/workflow/step_status.h"
#include "engine/common/result.h"
#include "workflows/inputs.h"
#include "workflows/workflow.h"

namespace agentrt::actors::workflow {

// Threads of one run: steps running at once, and extra threads for map items over all steps.
inline constexpr int kMaxStepThreads = 16;
inline constexpr int kMaxUnitThreads = 64;
// Live engine requests per model (RuntimeOptions::max_pending_requests) unless set; more
// wait in the runtime's queue.
inline constexpr int kDefaultRunnerLiveRequests = 1024;
// KV blocks of a model that neither the options nor the workflow size.
inline constexpr int kDefaultRunnerKvBlocks = 2048;

struct RunnerOptions {
  std::string model_dir;           // replaces the path of the "default" (or only) model
  std::string fallback_model_dir;  // for models without a path (the CLI: tiny-calc)
  // kv_blocks, threads, max_live_requests and weight_check apply when the pool first loads
  // a model; a model already loaded keeps its own.
  int kv_blocks = 0;          // 0: the model's kv_blocks, else kDefaultRunnerKvBlocks
  int threads = 0;            // 0: the model's threads, else all cores
  std::string backend;        // "cpu" or "cuda": replaces the default model's backend
  int max_live_requests = 0;  // 0: kDefaultRunnerLiveRequests
  model::WeightCheck weight_check = model::WeightCheck::sample;  // for every model loaded
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
  ~WorkflowRunner();

  // Runs every step and renders the outputs. `inputs` must be resolved (inputs.h). On the
  // first failing step the running ones are cancelled and the rest skipped.
  WorkflowOutcome run(const workflows::InputValues& inputs, EventFn events = {});
  // Cancels the run: running jobs end, nothing new starts; run() returns cancelled. Called
  // before run(), it makes run() return cancelled at once (a runner is cancelled for good).
  void cancel();
  std::vector<StepStatus> snapshot() const;

  struct Impl;

 private:
  explicit WorkflowRunner(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Where a model's weights come from: --model for the default model, else its path
// (relative to the workflow file), else the fallback.
std::string resolve_model_dir(const workflows::Workflow& wf, const workflows::ModelSpec& m,
                              const RunnerOptions& options);

}  // namespace agentrt::actors::workflow
