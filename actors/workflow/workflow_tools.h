// A workflow's `tools:` section as the declarations of its job's own tools
// (mcp::JobTools): builtins with their settings, custom commands, MCP servers. Relative
// programs and the processes' working directory are the workflow file's directory.
#pragma once

#include <vector>

#include "actors/mcp/job_tools.h"
#include "workflows/workflow.h"

namespace agentrt::actors::workflow {

// One declaration per ToolSpec, in file order. The loader has checked every field (a custom
// tool's schema parses as JSON).
std::vector<mcp::JobToolDecl> job_tool_decls(const workflows::Workflow& wf);

}  // namespace agentrt::actors::workflow
