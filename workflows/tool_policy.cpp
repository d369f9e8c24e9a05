// check_tool_policy (see tool_policy.h).
#include "workflows/tool_policy.h"

namespace agentrt::workflows {

void check_tool_policy(const Workflow& wf, const ToolPolicy& policy, Diagnostics& diags) {
  for (const auto& t : wf.tools) {
    std::string what;
    if (t.kind == ToolKind::mcp && !policy.mcp) what = "MCP servers are";
    if (t.kind == ToolKind::command && !policy.command) what = "command tools are";
    if (t.kind == ToolKind::builtin && t.builtin == "command" && !policy.command)
      what = "builtin: command is";
    if (t.kind == ToolKind::builtin && t.builtin == "http" && !policy.http)
      what = "builtin: http is";
    if (!what.empty())
      diags.error(t.loc, "tool '" + t.name + "': " + what +
                             " off on this server (enable it in the server's tool settings)");
  }
}

}  // namespace agentrt::workflows
