// Workflow-aware KV (KVFlow): how many steps away each step of a run is from running, as
// its dependency graph tells it. The runner turns these into the KV manager's eviction
// hints for each step's agent prefix (Runtime::hint_reuse), and prefetches the prefix of a
// step whose dependencies are all running.
#pragma once

#include <vector>

#include "actors/workflow/step_status.h"
#include "workflows/planner.h"

namespace agentrt::actors::workflow {

// A step that has ended (or never will run) needs no KV.
inline constexpr int kNoNextUse = -1;

// Per step: 0 while it runs (or is ready to begin: every dependency done); for a waiting
// step, 1 + the largest distance among its dependencies that have not finished (a running
// dependency counts 0); kNoNextUse for a step that has ended or that a failed, cancelled
// or skipped dependency blocks. `deps` must be acyclic (workflows/planner.h checks it).
std::vector<int> steps_to_next_use(const std::vector<std::vector<workflows::StepEdge>>& deps,
                                   const std::vector<StepState>& states);

}  // namespace agentrt::actors::workflow
