// job_prefix (job_prefix.h): a workflow job's first prompt, rendered and keyed as a node's
// engine keys it.
#include "cluster/job_prefix.h"

#include <set>

#include "actors/agent_prompt.h"
#include "actors/mcp/job_tools.h"
#include "actors/tool_registry.h"
#include "actors/workflow/workflow_tools.h"
#include "workflows/inputs.h"
#include "workflows/loader.h"

namespace agentrt::cluster {
namespace {

// The agent's tools as the workflow runner gives them (the job's own registry: builtins with
// the workflow's settings, custom commands), so that the template renders their definitions
// as on the node. Null when they cannot be known here: the agent uses an MCP server's tools
// (its server is not started for a routing key), or the job's tools do not start.
std::unique_ptr<actors::mcp::JobTools> agent_tools(const actors::Runtime& rt,
                                                   const workflows::Workflow& wf,
                                                   const workflows::AgentSpec& agent) {
  std::vector<actors::mcp::JobToolDecl> decls;
  std::set<std::string> servers;
  for (auto& d : actors::workflow::job_tool_decls(wf)) {
    if (d.server)
      servers.insert(d.server->name);
    else
      decls.push_back(std::move(d));
  }
  for (const auto& t : agent.tools)
    if (servers.count(t.name)) return nullptr;
  auto tools = actors::mcp::JobTools::start(rt.tools(), decls);
  if (!tools.ok()) return nullptr;
  return std::move(*tools);
}

}  // namespace

std::vector<kv::BlockKey> block_keys(std::span<const std::int32_t> tokens, int block_size,
                                     std::string_view fingerprint) {
  std::vector<kv::BlockKey> out;
  if (block_size <= 0) return out;
  const auto bs = static_cast<std::size_t>(block_size);
  out.reserve(tokens.size() / bs);
  kv::BlockKey parent = kv::root_key(fingerprint);
  for (std::size_t at = 0; at + bs <= tokens.size(); at += bs) {
    parent = kv::chain_key(parent, tokens.subspan(at, bs), fingerprint);
    out.push_back(parent);
  }
  return out;
}

Result<JobPrefix> job_prefix(const actors::Runtime& rt, std::string_view workflow_yaml,
                             const std::string& workflow_file,
                             const std::vector<std::pair<std::string, std::string>>& inputs) {
  auto loaded = workflows::load_workflow(workflow_yaml, workflow_file);
  workflows::InputValues values;
  if (loaded.parsed && loaded.ok())
    values = workflows::resolve_inputs(loaded.workflow, inputs, loaded.diagnostics);
  if (!loaded.ok()) return make_error(ErrorCode::invalid_argument, loaded.diagnostics.to_string());
  const workflows::Workflow& wf = loaded.workflow;
  const workflows::Step* first = nullptr;
  for (const auto& s : wf.steps) {
    if (s.after.empty() && wf.find_agent(s.agent.name) != nullptr) {
      first = &s;
      break;
    }
  }
  if (first == nullptr)
    return make_error(ErrorCode::not_found,
                      "job prefix: no step of '" + workflow_file + "' starts the run");
  const workflows::AgentSpec& agent = *wf.find_agent(first->agent.name);
  // Inputs only: what the run alone knows (step outputs, map items, loop values) is absent.
  auto lookup = [&](const std::vector<std::string>& p) -> std::optional<workflows::Value> {
    if (p.size() != 2 || p[0] != "inputs") return std::nullopt;
    auto it = values.find(p[1]);
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
  actors::AgentSpec spec;
  spec.name = agent.name;
  if (auto sys = agent.system.tpl.render(lookup); sys.ok()) spec.system_prompt = sys->to_text();
  spec.enable_thinking = false;  // as the workflow runner renders agents
  std::string input;
  if (!first->map) {
    if (auto in = first->input.tpl.render(lookup); in.ok()) input = in->to_text();
  }
  const actors::ToolRegistry no_tools;
  const actors::ToolRegistry* registry = &no_tools;
  auto tools = agent.tools.empty() ? nullptr : agent_tools(rt, wf, agent);
  if (tools) {
    for (const auto& t : agent.tools)
      spec.tools.push_back(t.name);
    registry = tools->registry().get();
  }
  auto prompt =
      actors::render_first_prompt(rt.chat_template(), rt.tokenizer(), *registry, spec, input);
  if (!prompt.ok() && tools) {  // keyed without the tools, as far as the system text goes
    spec.tools.clear();
    prompt = actors::render_first_prompt(rt.chat_template(), rt.tokenizer(), no_tools, spec, input);
  }
  if (!prompt.ok()) return prompt.error();
  JobPrefix out;
  out.prompt_tokens = std::ssize(prompt->tokens);
  out.blocks = block_keys(prompt->tokens, rt.kv_geometry().block_size, rt.kv_key_fingerprint());
  return out;
}

}  // namespace agentrt::cluster
