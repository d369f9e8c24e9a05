// McpTool and start_server (see mcp_tool.h).
#include "actors/mcp/mcp_tool.h"

#include <algorithm>
#include <set>

#include "actors/json_schema.h"

namespace agentrt::actors::mcp {
namespace {

class McpTool final : public Tool {
 public:
  McpTool(std::shared_ptr<McpClient> client, std::string mcp_name, ToolSpec spec)
      : client_(std::move(client)), mcp_name_(std::move(mcp_name)), spec_(std::move(spec)) {}
  const ToolSpec& spec() const override { return spec_; }
  Result<std::string> invoke(const Json& arguments) override {
    return client_->call_tool(mcp_name_, arguments, client_->options().call_timeout);
  }

 private:
  std::shared_ptr<McpClient> client_;
  std::string mcp_name_;
  ToolSpec spec_;
};

Json usable_schema(const Json& s) {
  if (s.is_object() && s.value("type", Json()) == Json("object") && check_schema(s).ok()) return s;
  return Json{{"type", "object"}};
}

}  // namespace

Result<ServerTools> start_server(const ServerOptions& options) {
  auto client = McpClient::start(options);
  if (!client.ok()) return client.error();
  auto infos = (*client)->list_tools();
  if (!infos.ok()) return infos.error();
  ServerTools out;
  out.client = *client;
  for (const auto& wanted : options.tools) {
    if (std::none_of(infos->begin(), infos->end(),
                     [&](const ToolInfo& i) { return i.name == wanted; })) {
      std::string known;
      for (const auto& i : *infos)
        known += (known.empty() ? "" : ", ") + i.name;
      return make_error(ErrorCode::not_found, "MCP server '" + options.name + "' has no tool '" +
                                                  wanted + "' (its tools: " + known + ")");
    }
  }
  std::set<std::string> names;
  for (const auto& info : *infos) {
    if (!options.tools.empty() &&
        std::find(options.tools.begin(), options.tools.end(), info.name) == options.tools.end())
      continue;
    ToolSpec s;
    s.name = exposed_name(options.name, info.name);
    if (!names.insert(s.name).second)
      return make_error(
          ErrorCode::invalid_argument,
          "MCP server '" + options.name + "': two tools are both exposed as '" + s.name + "'");
    s.description = info.description;
    s.parameters = usable_schema(info.input_schema);
    s.timeout = options.call_timeout + std::chrono::seconds(1);  // the client's is the one
    out.tools.push_back(std::make_shared<McpTool>(out.client, info.name, std::move(s)));
  }
  return out;
}

}  // namespace agentrt::actors::mcp
