// JobTools: the tools of one job (a workflow run) in a registry of their own over the
// runtime's (ToolRegistry(parent)): its configured tools (builtins with the job's settings,
// custom commands) and the tools of its MCP servers, which start here and stop with the
// JobTools. Two jobs may then declare the same tool name differently.
// Threads: registry() and expand() may be called from any thread once start() returned.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/mcp/mcp_tool.h"
#include "actors/tool_registry.h"

namespace agentrt::actors::mcp {

// One declared tool: a ToolConfig (builtin or custom) or an MCP server, whose tools are
// named exposed_name(server.name, tool) and get `limits`.
struct JobToolDecl {
  std::optional<ToolConfig> config;
  std::optional<ServerOptions> server;
  ToolLimits limits;
};

class JobTools {
 public:
  // Makes each tool and starts each server, in order. Errors: the first failure (naming
  // the tool or server); the servers started before it are stopped.
  static Result<std::unique_ptr<JobTools>> start(std::shared_ptr<const ToolRegistry> parent,
                                                 const std::vector<JobToolDecl>& decls);
  // Stops the servers.
  ~JobTools();

  std::shared_ptr<const ToolRegistry> registry() const { return registry_; }
  // `names` (an agent's tools) with each MCP server's name replaced by its tools' names.
  std::vector<std::string> expand(const std::vector<std::string>& names) const;
  // The tools' names of server `name` (empty when unknown).
  const std::vector<std::string>& server_tools(const std::string& name) const;

 private:
  std::shared_ptr<ToolRegistry> registry_;
  std::vector<std::shared_ptr<McpClient>> clients_;
  std::map<std::string, std::vector<std::string>> server_tools_;
};

}  // namespace agentrt::actors::mcp
