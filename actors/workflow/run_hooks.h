// What a caller of WorkflowRunner::start hears during a run (RunEvent, RunHooks) and what
// it gives back to resume an interrupted run (ResumeState). A server turns events into its
// event log (SSE), writes checkpoints in step_done / unit_done, and resumes from them.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <string>
#include <utility>

#include "actors/workflow/step_status.h"

namespace agentrt::actors::workflow {

// One structured event. `data` by kind:
//   step_started     {}
//   step_finished    {state, tokens, tool_calls, error, elapsed, attempts, reason}
//   tool_call        {name, arguments}
//   tool_result      {name, result, duration_ms}  (an error result starts with "error: ")
//   sample_finished  {answer (or null), tokens, finished, error}   best-of samples
//   unit_finished    {output, tokens}        map items and loop iterations (unit_done)
//   unit_retry       {attempt, attempts, error, wait_ms}  a failed unit runs again (retries)
//   line             {}                      text only
// `line` is the plain progress text that `agentrt run` prints ("started", "call calculator
// {...}", "done: 12 tokens, 1 tool calls, 0.4s"); empty for events the CLI does not print.
struct RunEvent {
  enum class Kind {
    step_started,
    step_finished,
    tool_call,
    tool_result,
    sample_finished,
    unit_finished,
    unit_retry,
    line
  };
  Kind kind = Kind::line;
  std::string step;  // the step's id
  int unit = -1;     // the map item or loop iteration; -1 for the step as a whole
  int sample = -1;   // the best-of sample; -1 otherwise
  nlohmann::json data = nlohmann::json::object();
  std::string line;
};
const char* to_string(RunEvent::Kind k);  // "step_started", ...

// Called on runtime threads (any of them, concurrently for different steps); each must be
// thread-safe. A hook may block (a synced write): only its own step or unit waits.
struct RunHooks {
  std::function<void(const RunEvent&)> event;
  // Before step `step` counts as done: its dependents start, and the run ends, only after
  // this returns (the server writes the step's checkpoint here). Not called for steps
  // taken from ResumeState.
  std::function<void(int step, const StepResult&)> step_done;
  // Before a unit counts as done: a map item (unit = item; with a loop, when its loop ends)
  // or an iteration of a loop step without map (unit = iteration).
  std::function<void(int step, int unit, const UnitOutcome&)> unit_done;
};

// What a resumed run takes from its checkpoints. Steps in `steps` are not run again: their
// results appear in the outputs as if they had run. In an unfinished map step the items in
// `units` are not run again; an unfinished loop resumes after the last consecutive finished
// iteration, with loop.previous its output.
struct ResumeState {
  std::map<int, StepResult> steps;                   // by step index (file order)
  std::map<std::pair<int, int>, UnitOutcome> units;  // (step, unit) as in unit_done
};

}  // namespace agentrt::actors::workflow
