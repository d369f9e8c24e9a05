// The serve-side gate on tools that reach the network or run programs.
#include "workflows/tool_policy.h"

#include <gtest/gtest.h>

#include "workflows/loader.h"

namespace agentrt::workflows {
namespace {

TEST(ToolPolicy, OnlyTheCalculatorUnlessEnabled) {
  auto r = load_workflow(R"(tools:
  calculator: { builtin: calculator }
  web: { builtin: http }
  ls: { builtin: command, argv: [ls] }
  mine: { command: [x], schema: { type: object } }
  files: { mcp: { command: [srv] } }
agents: { a: {} }
steps: [{ id: s, agent: a, input: hi }]
)",
                         "wf.yaml");
  ASSERT_TRUE(r.ok()) << r.diagnostics.to_string();
  Diagnostics off("wf.yaml");
  check_tool_policy(r.workflow, ToolPolicy{}, off);
  EXPECT_EQ(off.to_string(),
            "wf.yaml:3:3: tool 'web': builtin: http is off on this server (enable it in the "
            "server's tool settings)\n"
            "wf.yaml:4:3: tool 'ls': builtin: command is off on this server (enable it in the "
            "server's tool settings)\n"
            "wf.yaml:5:3: tool 'mine': command tools are off on this server (enable it in the "
            "server's tool settings)\n"
            "wf.yaml:6:3: tool 'files': MCP servers are off on this server (enable it in the "
            "server's tool settings)\n");
  Diagnostics on("wf.yaml");
  check_tool_policy(r.workflow, ToolPolicy::all(), on);
  EXPECT_TRUE(on.empty());
  Diagnostics http_only("wf.yaml");
  check_tool_policy(r.workflow, ToolPolicy{true, false, false}, http_only);
  EXPECT_EQ(http_only.size(), 3u);
}

}  // namespace
}  // namespace agentrt::workflows
