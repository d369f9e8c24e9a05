// WorkflowRunner's state, shared by workflow_runner.cpp (models, scheduling, outputs) and
// step_execution.cpp (agent runs, best-of, map, loop). Internal to this library.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <tuple>

#include "actors/workflow/workflow_runner.h"

namespace agentrt::actors::workflow {

// A conversation as a JSON array of OpenAI-style messages (role, content, tool calls).
std::string messages_json(const chat::Conversation& c);

// Extra template names inside one unit: the map item, loop.index / loop.previous.
using Extras = std::map<std::string, workflows::Value>;

struct WorkflowRunner::Impl {
  workflows::Workflow wf;
  RunnerOptions opt;
  std::map<std::string, Runtime*> runtimes;  // by model name; owned by the RuntimePool

  // --- the current run; guarded by mu unless noted ---
  mutable std::mutex mu;
  std::condition_variable cv;
  std::vector<StepStatus> status;
  std::vector<StepResult> results;
  std::vector<std::chrono::steady_clock::time_point> started;
  std::set<std::pair<Runtime*, JobId>> jobs;                      // in flight
  std::map<std::tuple<int, int, int>, std::int64_t> tokens_seen;  // (step, unit, sample)
  std::vector<std::vector<SampleSummary>> ended;  // per step: samples / units that ended
  int unit_threads = 0;                           // extra map threads now (<= kMaxUnitThreads)
  int running = 0;
  bool stop = false;                               // no new steps: a failure or cancel()
  bool cancelled = false;                          // cancel() was called
  const workflows::InputValues* inputs = nullptr;  // set for the whole run
  EventFn events;
  std::chrono::steady_clock::time_point t0;

  // workflow_runner.cpp: runs step i on this thread and records how it ended.
  void run_step(std::size_t i, Status& first_error);

  // step_execution.cpp (step threads; they take mu only briefly)
  Result<StepResult> execute(int step);
  // Runs units [0, count) by calling run_one(u) on this thread and up to width - 1 more
  // (taken from the run's kMaxUnitThreads); stops starting units once the run stops.
  void run_units(std::size_t count, std::size_t width,
                 const std::function<void(std::size_t)>& run_one);
  Result<UnitOutcome> run_unit(int step, int unit, const std::string& input);
  Result<std::string> render(const workflows::TemplateText& t, const Extras& extras) const;
  std::optional<workflows::Value> lookup(const std::vector<std::string>& path,
                                         const Extras& extras) const;
  Result<AgentSpec> agent_spec(const workflows::AgentSpec& a) const;
  void on_progress(int step, int unit, const Progress& p);
  void emit(int step, const std::string& line);
  // Registers a job for cancel(); false when the run is already cancelled (then the job is
  // cancelled here).
  void track(Runtime* rt, JobId job);
  void untrack(Runtime* rt, JobId job);
};

}  // namespace agentrt::actors::workflow
