// Planning: the step graph of a workflow. A step depends on the steps in its `after` and on
// every step its templates reference (`{{ steps.s.output }}`), so data flow implies order.
#pragma once

#include <vector>

#include "workflows/diagnostic.h"
#include "workflows/workflow.h"

namespace agentrt::workflows {

struct StepEdge {
  int from = 0;   // the step that must finish first
  SourceLoc loc;  // where the dependency was written
};

struct Plan {
  std::vector<std::vector<StepEdge>> deps;  // per step, the steps it waits for (no repeats)
  // Steps grouped by depth: every step of level k depends only on levels < k, so the steps
  // of one level are independent and may run concurrently.
  std::vector<std::vector<int>> levels;
};

// The dependencies of each step; names that match no step are skipped (the validator
// reports them).
std::vector<std::vector<StepEdge>> step_dependencies(const Workflow& wf);

// Reports each dependency cycle once, at the reference that closes it:
// "step 'a' is part of a dependency cycle: a -> b -> a".
void find_cycles(const Workflow& wf, Diagnostics& diags);

// Levels of a valid workflow; a workflow with a cycle gets only the steps outside it.
Plan plan_workflow(const Workflow& wf);

}  // namespace agentrt::workflows
