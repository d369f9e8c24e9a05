// Which kinds of tools a workflow may declare where it runs. `agentrt run` allows all;
// `agentrt serve` runs workflows that clients send, so there the tools that reach the
// network or run programs (http, command, custom commands, MCP servers) stay off unless
// the server's configuration turns them on.
#pragma once

#include "workflows/diagnostic.h"
#include "workflows/workflow.h"

namespace agentrt::workflows {

struct ToolPolicy {
  bool http = false;     // builtin: http
  bool command = false;  // builtin: command and custom `command:` tools
  bool mcp = false;      // `mcp:` servers
  static ToolPolicy all() { return {true, true, true}; }
};

// Adds a diagnostic at each tool the policy refuses: "tool 'web': builtin: http is off on
// this server (enable it in the server's tool settings)". The calculator is always allowed.
void check_tool_policy(const Workflow& wf, const ToolPolicy& policy, Diagnostics& diags);

}  // namespace agentrt::workflows
