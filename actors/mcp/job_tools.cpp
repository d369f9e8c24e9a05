// JobTools (see job_tools.h).
#include "actors/mcp/job_tools.h"

namespace agentrt::actors::mcp {

Result<std::unique_ptr<JobTools>> JobTools::start(std::shared_ptr<const ToolRegistry> parent,
                                                  const std::vector<JobToolDecl>& decls) {
  std::unique_ptr<JobTools> jt(new JobTools());
  jt->registry_ = std::make_shared<ToolRegistry>(std::move(parent));
  for (const auto& d : decls) {
    if (d.config) {
      auto tool = make_builtin_tool(*d.config);
      if (!tool.ok()) return tool.error().with_context("tool '" + d.config->name + "'");
      AGENTRT_TRY(jt->registry_->add(std::move(*tool)));
      continue;
    }
    if (!d.server) continue;
    auto s = start_server(*d.server);
    if (!s.ok()) return s.error();  // jt's destructor stops the servers started before
    jt->clients_.push_back(s->client);
    auto& names = jt->server_tools_[d.server->name];
    for (auto& t : s->tools) {
      names.push_back(t->spec().name);
      auto tool = d.limits.any() ? make_limited_tool(std::move(t), d.limits) : std::move(t);
      if (auto st = jt->registry_->add(std::move(tool)); !st.ok())
        return st.error().with_context("MCP server '" + d.server->name + "'");
    }
  }
  return jt;
}

JobTools::~JobTools() {
  for (auto& c : clients_)
    c->stop();
}

std::vector<std::string> JobTools::expand(const std::vector<std::string>& names) const {
  std::vector<std::string> out;
  for (const auto& n : names) {
    auto it = server_tools_.find(n);
    if (it == server_tools_.end())
      out.push_back(n);
    else
      out.insert(out.end(), it->second.begin(), it->second.end());
  }
  return out;
}

const std::vector<std::string>& JobTools::server_tools(const std::string& name) const {
  static const std::vector<std::string> none;
  auto it = server_tools_.find(name);
  return it == server_tools_.end() ? none : it->second;
}

}  // namespace agentrt::actors::mcp
