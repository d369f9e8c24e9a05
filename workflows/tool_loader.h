// Reading one entry of a workflow's `tools:` mapping: a builtin (calculator, http, command)
// with its settings, a custom command with its arguments' JSON schema, or an MCP server.
// Internal to the loader; docs/workflows.md documents the keys.
#pragma once

#include <string>

#include "workflows/workflow.h"
#include "workflows/yaml_reader.h"

namespace agentrt::workflows {

// Limits on tool settings (docs/workflows.md).
inline constexpr int kMaxToolTimeoutMs = 3600 * 1000;  // 1 hour per attempt
inline constexpr int kMaxToolOutputBytes = 64 << 20;   // 64 MiB
inline constexpr int kMaxToolRetries = 10;
inline constexpr int kMaxToolConcurrency = 1024;
inline constexpr int kMaxToolSchemaDepth = 64;      // nesting of `schema`
inline constexpr int kMaxToolSchemaNodes = 100000;  // values in `schema`, aliases expanded

// Fills `t` (its name and loc already set) from the entry's value, reporting every
// problem through `r` at its place: a missing or second kind key (builtin / command /
// mcp), a key that belongs to another kind, bad durations, sizes and schemas.
void load_tool(YamlReader& r, const YamlEntry& x, const std::string& what, ToolSpec& t);

// "10s", "500ms", "2m", or a bare number of seconds ("1.5") -> milliseconds, in
// [1, max_ms]. nullopt when the text is not a duration or out of range.
std::optional<int> parse_duration_ms(const std::string& text, int max_ms);

}  // namespace agentrt::workflows
