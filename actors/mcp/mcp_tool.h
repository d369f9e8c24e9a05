// The tools of one MCP server as actors/tool.h Tools: start_server() spawns and initializes
// the server and lists its tools; each becomes a Tool named exposed_name(server, tool)
// (e.g. "files_read_file") with the server's inputSchema, calling tools/call. The tools
// share the client: the server stops when the last of them (and the ServerTools) is gone,
// i.e. with the job that holds them.
#pragma once

#include <memory>
#include <vector>

#include "actors/mcp/mcp_client.h"
#include "actors/tool.h"

namespace agentrt::actors::mcp {

struct ServerTools {
  std::shared_ptr<McpClient> client;
  std::vector<std::shared_ptr<Tool>> tools;  // in the server's order
};

// Only options.tools when set. Errors: McpClient::start's and list_tools' (naming the
// server), a name in options.tools the server does not have (not_found, listing its tools),
// two tools whose exposed names collide. An inputSchema that is not an object schema, or misuses
// the subset of json_schema.h, is replaced by {"type": "object"} (the server still checks its
// arguments).
Result<ServerTools> start_server(const ServerOptions& options);

}  // namespace agentrt::actors::mcp
