// job_prefix (job_prefix.h): a workflow job's first prompt, rendered and keyed as a node's
// engine keys it.
#include "cluster/job_prefix.h"

#include "actors/agent_prompt.h"
#include "actors/tool_registry.h"
#include "workflows/inputs.h"
#include "workflows/loader.h"

namespace agentrt::cluster {

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
  auto prompt =
      actors::render_first_prompt(rt.chat_template(), rt.tokenizer(), no_tools, spec, input);
  if (!prompt.ok()) return prompt.error();
  JobPrefix out;
  out.prompt_tokens = std::ssize(prompt->tokens);
  out.blocks = block_keys(prompt->tokens, rt.kv_geometry().block_size, rt.kv_key_fingerprint());
  return out;
}

}  // namespace agentrt::cluster
