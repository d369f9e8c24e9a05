// ToolRegistry: the tools of one runtime by name, with their JSON schemas. Validates a
// call's arguments before it runs, and renders the definitions the chat template shows.
// Thread-safe: tools may be added while agents run.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "actors/tool.h"
#include "engine/chat/conversation.h"

namespace agentrt::actors {

class ToolRegistry {
 public:
  ToolRegistry() = default;
  // A registry over `parent` (e.g. a job's tools over its runtime's): lookups that miss
  // here go to the parent; a tool added here hides the parent's tool of that name.
  explicit ToolRegistry(std::shared_ptr<const ToolRegistry> parent) : parent_(std::move(parent)) {}

  // Errors (invalid_argument): an empty name or one added here before, a schema that
  // misuses the subset of json_schema.h or is not of type object.
  Status add(std::shared_ptr<Tool> tool);
  // nullptr when unknown.
  std::shared_ptr<Tool> find(const std::string& name) const;
  // Definitions in the OpenAI shape {"type": "function", "function": {...}} for `names`.
  // Errors (not_found): an unknown name, listing the known ones.
  Result<std::vector<chat::ToolDefinition>> definitions(
      const std::vector<std::string>& names) const;
  // The call's arguments as an object (a string holding JSON is parsed), checked against
  // the tool's schema. Errors (invalid_argument) read "tool 'x': arguments: /a: ...".
  Result<Json> check_call(const chat::ToolCall& call) const;
  // check_call for an agent: a call to a tool outside `allowed` (the agent's own `tools`),
  // registered or not, is refused (not_found: "tool 'x' is not available to this agent")
  // before its arguments are looked at, so it never runs.
  Result<Json> check_call(const chat::ToolCall& call,
                          const std::vector<std::string>& allowed) const;

 private:
  std::string known_names() const;

  const std::shared_ptr<const ToolRegistry> parent_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Tool>> tools_;
};

}  // namespace agentrt::actors
