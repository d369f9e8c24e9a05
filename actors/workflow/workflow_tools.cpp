#include "actors/workflow/workflow_tools.h"

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>

namespace agentrt::actors::workflow {
namespace {

using std::chrono::milliseconds;

ToolConfig config_of(const workflows::ToolSpec& t, const std::string& cwd,
                     const ToolLimits& limits) {
  ToolConfig c;
  c.name = t.name;
  c.description = t.description;
  c.cwd = cwd;
  c.limits = limits;
  // Each kind's own timeout is what ends a call (its watchdog kills the process or drops
  // the connection); ToolConfig::timeout stays 0, so the agent waits that plus a margin.
  if (t.kind == workflows::ToolKind::command) {
    c.builtin = BuiltinTool::custom;
    c.custom.argv = t.command;
    c.custom.schema = nlohmann::json::parse(t.schema, nullptr, false);
    if (t.timeout_ms > 0) c.custom.timeout = milliseconds(t.timeout_ms);
    if (t.max_output_bytes > 0) c.custom.max_output_bytes = t.max_output_bytes;
  } else if (t.builtin == "http") {
    c.builtin = BuiltinTool::http;
    if (!t.allow_hosts.empty()) c.http.allow_hosts = t.allow_hosts;
    if (t.timeout_ms > 0) c.http.timeout = milliseconds(t.timeout_ms);
    if (t.max_output_bytes > 0) c.http.max_response_bytes = t.max_output_bytes;
  } else if (t.builtin == "command") {
    c.builtin = BuiltinTool::command;
    c.command.argv = t.command;
    c.command.append_args = t.append_args;
    if (t.timeout_ms > 0) c.command.timeout = milliseconds(t.timeout_ms);
    if (t.max_output_bytes > 0) c.command.max_output_bytes = t.max_output_bytes;
  } else {
    c.builtin = BuiltinTool::calculator;
    c.timeout = milliseconds(t.timeout_ms);
  }
  return c;
}

}  // namespace

std::vector<mcp::JobToolDecl> job_tool_decls(const workflows::Workflow& wf) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path dir = fs::path(wf.file).parent_path();
  const std::string cwd = dir.empty() ? "" : fs::absolute(dir, ec).lexically_normal().string();
  std::vector<mcp::JobToolDecl> out;
  for (const auto& t : wf.tools) {
    mcp::JobToolDecl d;
    d.limits = {t.retries, milliseconds(t.backoff_ms > 0 ? t.backoff_ms : 200), t.concurrency};
    if (t.kind == workflows::ToolKind::mcp) {
      mcp::ServerOptions o;
      o.name = t.name;
      o.argv = t.command;
      o.cwd = cwd;
      o.tools = t.mcp_tools;
      if (t.timeout_ms > 0) o.call_timeout = milliseconds(t.timeout_ms);
      if (t.max_output_bytes > 0) o.max_output_bytes = static_cast<std::size_t>(t.max_output_bytes);
      d.server = std::move(o);
    } else {
      d.config = config_of(t, cwd, d.limits);
    }
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace agentrt::actors::workflow
