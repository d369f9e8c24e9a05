// The tools section: builtins with their settings, custom commands with schemas, MCP
// servers, per-tool limits, and each mistake at its line and column.
#include "workflows/tool_loader.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "workflows/test_util.h"

namespace agentrt::workflows {
namespace {

using testing::dump;
using testing::errors_of;
using testing::has_error;

std::string with_tools(const std::string& tools) {
  return "tools:\n" + tools +
         "agents:\n  a: { tools: [calc] }\nsteps:\n  - { id: s, agent: a, input: hi }\n";
}

TEST(ToolLoader, EveryKindLoadsWithItsSettings) {
  const std::string yaml = with_tools(R"(  calc: { builtin: calculator, timeout: 2s }
  web:
    builtin: http
    allow_hosts: [127.0.0.1, example.org]
    max_output_bytes: 1000
    timeout: 500ms
    retries: 2
    backoff: 100ms
    concurrency: 4
  ls: { builtin: command, argv: [ls, -l], append_args: true, description: lists }
  mine:
    command: [python3, tool.py]
    timeout: 1.5
    schema:
      type: object
      properties:
        n: { type: integer, minimum: 0 }
        tag: { type: string, enum: ["1", yes] }
      required: [n]
  files:
    mcp: { command: [npx, -y, "@modelcontextprotocol/server-filesystem", ./data], tools: [read_file, list_directory] }
    timeout: 1m
)");
  auto r = load_workflow(yaml, "wf.yaml");
  ASSERT_TRUE(r.ok()) << r.diagnostics.to_string();
  validate_workflow(r.workflow, r.diagnostics);
  ASSERT_TRUE(r.ok()) << r.diagnostics.to_string();
  const Workflow& wf = r.workflow;
  ASSERT_EQ(wf.tools.size(), 5u);
  EXPECT_EQ(wf.tools[0].timeout_ms, 2000);
  const ToolSpec& web = *wf.find_tool("web");
  EXPECT_EQ(web.kind, ToolKind::builtin);
  EXPECT_EQ(web.builtin, "http");
  EXPECT_EQ(web.allow_hosts, (std::vector<std::string>{"127.0.0.1", "example.org"}));
  EXPECT_EQ(web.max_output_bytes, 1000);
  EXPECT_EQ(web.timeout_ms, 500);
  EXPECT_EQ(web.retries, 2);
  EXPECT_EQ(web.backoff_ms, 100);
  EXPECT_EQ(web.concurrency, 4);
  const ToolSpec& ls = *wf.find_tool("ls");
  EXPECT_EQ(ls.command, (std::vector<std::string>{"ls", "-l"}));
  EXPECT_TRUE(ls.append_args);
  EXPECT_EQ(ls.description, "lists");
  const ToolSpec& mine = *wf.find_tool("mine");
  EXPECT_EQ(mine.kind, ToolKind::command);
  EXPECT_EQ(mine.timeout_ms, 1500);
  const auto schema = nlohmann::json::parse(mine.schema);
  EXPECT_EQ(schema["properties"]["n"]["minimum"], 0);
  EXPECT_EQ(schema["properties"]["tag"]["enum"], nlohmann::json::parse(R"(["1", "yes"])"));
  EXPECT_EQ(schema["required"][0], "n");
  const ToolSpec& files = *wf.find_tool("files");
  EXPECT_EQ(files.kind, ToolKind::mcp);
  EXPECT_EQ(files.command.size(), 4u);
  EXPECT_EQ(files.command[2], "@modelcontextprotocol/server-filesystem");
  EXPECT_EQ(files.timeout_ms, 60000);
  EXPECT_EQ(files.mcp_tools, (std::vector<std::string>{"read_file", "list_directory"}));
}

TEST(ToolLoader, SchemaMayBeJsonText) {
  auto r = load_workflow(with_tools("  calc: { builtin: calculator }\n"
                                    "  j: { command: [x], schema: '{\"type\": \"object\"}' }\n"),
                         "wf.yaml");
  ASSERT_TRUE(r.ok()) << r.diagnostics.to_string();
  EXPECT_EQ(r.workflow.find_tool("j")->schema, R"({"type":"object"})");
}

TEST(ToolLoader, MistakesAreReportedAtTheirPlace) {
  const auto errs = errors_of(with_tools(R"(  calc: { builtin: calculator, allow_hosts: [x] }
  two: { builtin: http, mcp: { command: [x] } }
  none: { timeout: 2s }
  c1: { command: [x] }
  c2: { command: [], schema: { type: object } }
  c3: { command: [x], schema: { type: string } }
  c4: { command: [x], schema: "{not json", timeout: soon }
  b1: { builtin: command }
  b2: { builtin: http, argv: [ls], retries: 11, concurrency: -1 }
  m1: { mcp: { command: [srv] }, schema: { type: object } }
  m2: { mcp: {} }
  m3: { mcp: { command: [srv], tools: [a, a] } }
  u: { builtin: shell }
)"));
  EXPECT_TRUE(has_error(errs, "2:32",
                        "tools.calc.allow_hosts: not a setting of this tool "
                        "(builtin: calculator)"))
      << dump(errs);
  EXPECT_TRUE(has_error(errs, "3:25", "one of builtin, command or mcp; 'builtin' is given"))
      << dump(errs);
  EXPECT_TRUE(has_error(errs, "4:9", "tools.none: missing 'builtin', 'command' or 'mcp'"))
      << dump(errs);
  EXPECT_TRUE(has_error(errs, "5:7", "tools.c1: a command tool needs 'schema'")) << dump(errs);
  EXPECT_TRUE(has_error(errs, "6:18", "tools.c2.command: expected a non-empty list")) << dump(errs);
  EXPECT_TRUE(has_error(errs, "7:31", "tools.c3.schema: must be a JSON schema of type object"))
      << dump(errs);
  EXPECT_TRUE(has_error(errs, "8:31", "tools.c4.schema: expected a mapping or JSON object text"))
      << dump(errs);
  EXPECT_TRUE(has_error(errs, "8:53", "tools.c4.timeout: expected a duration")) << dump(errs);
  EXPECT_TRUE(has_error(errs, "9:7", "builtin: command needs 'argv'")) << dump(errs);
  EXPECT_TRUE(has_error(errs, "10:24", "tools.b2.argv: not a setting of this tool (builtin: http)"))
      << dump(errs);
  EXPECT_TRUE(has_error(errs, "10:45", "tools.b2.retries: must be in [0, 10]")) << dump(errs);
  EXPECT_TRUE(has_error(errs, "10:62", "tools.b2.concurrency: must be in [0, 1024]")) << dump(errs);
  EXPECT_TRUE(has_error(errs, "11:34", "an MCP server gives each tool's schema")) << dump(errs);
  EXPECT_TRUE(has_error(errs, "12:14", "tools.m2.mcp: missing required key 'command'"))
      << dump(errs);
  EXPECT_TRUE(has_error(errs, "13:43", "tools.m3.mcp.tools: 'a' is listed twice")) << dump(errs);
  EXPECT_TRUE(has_error(errs, "14:17",
                        "unknown builtin 'shell' (builtins: calculator, http, "
                        "command)"))
      << dump(errs);
}

TEST(ToolLoader, AnMcpServerIsNotAScorer) {
  const auto errs = errors_of(R"(tools:
  files: { mcp: { command: [srv] } }
agents:
  a: {}
steps:
  - id: s
    agent: a
    input: hi
    best_of: { n: 2, aggregate: scorer, scorer: files }
)");
  EXPECT_TRUE(has_error(errs, "9:49", "scorer 'files' is an MCP server")) << dump(errs);
}

TEST(ToolLoader, SchemaNestingIsBounded) {
  std::string deep = "{ type: object, properties: { x: ";
  for (int i = 0; i < kMaxToolSchemaDepth; ++i)
    deep += "{ items: ";
  deep += "{}";
  for (int i = 0; i < kMaxToolSchemaDepth; ++i)
    deep += " }";
  deep += " } }";
  const auto errs =
      errors_of(with_tools("  calc: { builtin: calculator }\n  d: { command: [x], "
                           "schema: " +
                           deep + " }\n"));
  ASSERT_EQ(errs.size(), 1u) << dump(errs);
  EXPECT_NE(errs[0].find("nested deeper than 64 levels"), std::string::npos) << dump(errs);
}

// Aliases that repeat a subtree 10^8 times: refused after kMaxToolSchemaNodes values.
TEST(ToolLoader, SchemaAliasBombIsBounded) {
  std::string defs = "x0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]";
  for (int i = 1; i < 8; ++i) {
    const std::string prev = "*a" + std::to_string(i - 1);
    defs += "\n        x" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + prev;
    for (int k = 1; k < 10; ++k)
      defs += ", " + prev;
    defs += "]";
  }
  const auto errs =
      errors_of(with_tools("  calc: { builtin: calculator }\n  d:\n"
                           "    command: [x]\n    schema:\n      type: object\n"
                           "      defs:\n        " +
                           defs + "\n"));
  ASSERT_EQ(errs.size(), 1u) << dump(errs);
  EXPECT_NE(errs[0].find("more than 100000 values"), std::string::npos) << dump(errs);
}

TEST(ToolLoader, Durations) {
  EXPECT_EQ(parse_duration_ms("10s", kMaxToolTimeoutMs), 10000);
  EXPECT_EQ(parse_duration_ms("250ms", kMaxToolTimeoutMs), 250);
  EXPECT_EQ(parse_duration_ms("2m", kMaxToolTimeoutMs), 120000);
  EXPECT_EQ(parse_duration_ms("3", kMaxToolTimeoutMs), 3000);
  EXPECT_EQ(parse_duration_ms("0.5s", kMaxToolTimeoutMs), 500);
  for (const char* bad : {"", "0", "-1s", "2h", "1e9", "s", "10 s", "nan", "inf", "0.1ms"})
    EXPECT_FALSE(parse_duration_ms(bad, kMaxToolTimeoutMs).has_value()) << bad;
}

}  // namespace
}  // namespace agentrt::workflows
