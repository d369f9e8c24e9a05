// Validating a loaded workflow: every cross-reference and every template path is checked,
// and all problems are reported at once, each at its place in the file.
#pragma once

#include <string>
#include <vector>

#include "workflows/diagnostic.h"
#include "workflows/workflow.h"

namespace agentrt::workflows {

// Adds to `diags`: duplicate names; unknown agents, models, tools (and builtins) and
// steps; template expressions that reference nothing (undeclared inputs, unknown steps or
// fields, `item` outside a map, `loop.*` outside a loop, step references in system
// prompts); best_of settings that do not fit the aggregate; dependency cycles.
void validate_workflow(const Workflow& wf, Diagnostics& diags);

// The fields a step's templates can read: output, its extract names, and for best_of
// steps answer and confidence.
std::vector<std::string> step_fields(const Step& s);

}  // namespace agentrt::workflows
