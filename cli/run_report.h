// What `agentrt run` prints when a run ends, done or not: one JSON object (--json) or the
// outputs as text. A failed or cancelled run still reports every step and sample that finished.
#pragma once

#include <nlohmann/json.hpp>

#include "actors/workflow/workflow_runner.h"
#include "workflows/workflow.h"

namespace agentrt::cli {

// {workflow, ok, error, outputs, steps: [{id, state, ..., samples}], engines, seconds}.
// Any text may hold invalid UTF-8: serialise it with dump_json (cli/json_output.h).
nlohmann::json run_report_json(const workflows::Workflow& wf,
                               const actors::workflow::WorkflowOutcome& o);

// Outputs on stdout ("name: value", multi-line values indented), KV reuse on stderr.
void print_run_report_text(const actors::workflow::WorkflowOutcome& o);

}  // namespace agentrt::cli
