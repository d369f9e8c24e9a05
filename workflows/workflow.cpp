#include "workflows/workflow.h"

namespace agentrt::workflows {
namespace {

template <class T>
const T* find_named(const std::vector<T>& items, const std::string& name) {
  for (const auto& i : items)
    if (i.name == name) return &i;
  return nullptr;
}

}  // namespace

SourceLoc TemplateText::loc_of(std::size_t offset) const {
  if (verbatim_shift < 0 || !loc.known()) return loc;
  const std::string& t = tpl.text();
  if (t.find('\n') != std::string::npos) return loc;
  return {loc.line, loc.col + verbatim_shift + static_cast<int>(offset)};
}

const char* to_string(Aggregate a) {
  switch (a) {
    case Aggregate::majority:
      return "majority";
    case Aggregate::logprob:
      return "logprob";
    case Aggregate::verifier:
      return "verifier";
    case Aggregate::scorer:
      return "scorer";
  }
  return "?";
}

const char* to_string(InputType t) {
  switch (t) {
    case InputType::string:
      return "string";
    case InputType::integer:
      return "int";
    case InputType::number:
      return "number";
    case InputType::boolean:
      return "bool";
    case InputType::list:
      return "list";
  }
  return "?";
}

const ModelSpec* Workflow::find_model(const std::string& n) const {
  return find_named(models, n);
}
const ToolSpec* Workflow::find_tool(const std::string& n) const {
  return find_named(tools, n);
}
const AgentSpec* Workflow::find_agent(const std::string& n) const {
  return find_named(agents, n);
}
const InputSpec* Workflow::find_input(const std::string& n) const {
  return find_named(inputs, n);
}

int Workflow::step_index(const std::string& id) const {
  for (std::size_t i = 0; i < steps.size(); ++i)
    if (steps[i].id == id) return static_cast<int>(i);
  return -1;
}

const ModelSpec* Workflow::model_of(const AgentSpec& agent) const {
  if (!agent.model.name.empty()) return find_model(agent.model.name);
  if (const auto* d = find_model("default")) return d;
  return models.size() == 1 ? &models[0] : nullptr;
}

KvReuseSpec Workflow::kv_reuse_of(const AgentSpec& agent, const Step& step) const {
  KvReuseSpec out;
  for (const KvReuseSpec* s : {&kv_reuse, &agent.kv_reuse, &step.kv_reuse}) {
    if (s->mode) out.mode = s->mode, out.loc = s->loc;
    if (s->blend_recompute) out.blend_recompute = s->blend_recompute;
    if (s->blend_anchors) out.blend_anchors = s->blend_anchors;
  }
  if (!out.mode) out.mode = KvReuseMode::exact;
  return out;
}

void Workflow::override_kv_reuse(const KvReuseSpec& spec) {
  kv_reuse = spec;
  for (auto& a : agents)
    a.kv_reuse = {};
  for (auto& s : steps)
    s.kv_reuse = {};
}

const char* to_string(KvReuseMode m) {
  return m == KvReuseMode::blend ? "blend" : "exact";
}

const std::vector<std::string>& builtin_tool_names() {
  static const std::vector<std::string> names = {"calculator", "http", "command"};
  return names;
}

const char* to_string(ToolKind k) {
  switch (k) {
    case ToolKind::builtin:
      return "builtin";
    case ToolKind::command:
      return "command";
    case ToolKind::mcp:
      return "mcp";
  }
  return "?";
}

}  // namespace agentrt::workflows
