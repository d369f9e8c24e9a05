#include "actors/tool_registry.h"

#include <algorithm>

#include "actors/json_schema.h"

namespace agentrt::actors {
namespace {

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names)
    out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

Status ToolRegistry::add(std::shared_ptr<Tool> tool) {
  if (!tool) return make_error(ErrorCode::invalid_argument, "tool registry: null tool");
  const ToolSpec& s = tool->spec();
  const std::string where = "tool '" + s.name + "'";
  if (s.name.empty())
    return make_error(ErrorCode::invalid_argument, "tool registry: empty tool name");
  if (auto st = check_schema(s.parameters); !st.ok())
    return st.error().with_context(where + ": parameters");
  if (!s.parameters.is_object() || s.parameters.value("type", std::string()) != "object")
    return make_error(ErrorCode::invalid_argument, where + ": parameters must be an object schema");
  std::lock_guard lock(mu_);
  if (!tools_.emplace(s.name, std::move(tool)).second)
    return make_error(ErrorCode::invalid_argument, where + " is already registered");
  return ok_status();
}

std::shared_ptr<Tool> ToolRegistry::find(const std::string& name) const {
  {
    std::lock_guard lock(mu_);
    auto it = tools_.find(name);
    if (it != tools_.end()) return it->second;
  }
  return parent_ ? parent_->find(name) : nullptr;
}

std::string ToolRegistry::known_names() const {
  std::string known = parent_ ? parent_->known_names() : std::string();
  std::lock_guard lock(mu_);
  for (const auto& [n, t] : tools_)
    known += (known.empty() ? "" : ", ") + n;
  return known;
}

Result<std::vector<chat::ToolDefinition>> ToolRegistry::definitions(
    const std::vector<std::string>& names) const {
  std::vector<chat::ToolDefinition> out;
  for (const auto& name : names) {
    auto tool = find(name);
    if (!tool) {
      const std::string known = known_names();
      return make_error(ErrorCode::not_found, "unknown tool '" + name + "' (registered: " +
                                                  (known.empty() ? "none" : known) + ")");
    }
    const ToolSpec& s = tool->spec();
    chat::ToolDefinition d{s.name, s.description, s.parameters, {}};
    d.raw = Json::object();
    d.raw["type"] = "function";
    d.raw["function"] = Json::object();
    d.raw["function"]["name"] = s.name;
    d.raw["function"]["description"] = s.description;
    d.raw["function"]["parameters"] = s.parameters;
    out.push_back(std::move(d));
  }
  return out;
}

Result<Json> ToolRegistry::check_call(const chat::ToolCall& call) const {
  const std::string where = "tool '" + call.name + "'";
  auto tool = find(call.name);
  if (!tool) return make_error(ErrorCode::not_found, where + " does not exist");
  Json args = call.arguments;
  if (args.is_string()) {
    args = Json::parse(args.get<std::string>(), nullptr, false);
    if (args.is_discarded())
      return make_error(ErrorCode::invalid_argument, where + ": arguments are not valid JSON");
  }
  if (args.is_null()) args = Json::object();
  if (auto st = validate_json(tool->spec().parameters, args); !st.ok())
    return st.error().with_context(where + ": arguments");
  return args;
}

Result<Json> ToolRegistry::check_call(const chat::ToolCall& call,
                                      const std::vector<std::string>& allowed) const {
  if (std::find(allowed.begin(), allowed.end(), call.name) == allowed.end()) {
    std::string name = call.name.substr(0, 200);
    if (name.size() < call.name.size()) name += "...";
    return make_error(ErrorCode::not_found,
                      "tool '" + name + "' is not available to this agent (its tools: " +
                          (allowed.empty() ? std::string("none") : join_names(allowed)) + ")");
  }
  return check_call(call);
}

}  // namespace agentrt::actors
