#include "api/forced_call.h"

#include "engine/grammar/json_schema_constraint.h"
#include "engine/grammar/suffix_constraint.h"

namespace agentrt::api {
namespace {

using Json = nlohmann::ordered_json;

// One call of `tool` as the format writes it: {"name": NAME, "<args>": {...}}.
Json call_schema(const chat::ToolDefinition& tool, const char* args_key) {
  Json params = tool.parameters.is_object() && !tool.parameters.empty() ? tool.parameters
                                                                        : Json{{"type", "object"}};
  return Json{{"type", "object"},
              {"properties", {{"name", {{"const", tool.name}}}, {args_key, std::move(params)}}},
              {"required", {"name", args_key}},
              {"additionalProperties", false}};
}

}  // namespace

std::optional<ForcedCall> forced_call(chat::ToolCallFormat format, const ToolChoice& choice,
                                      const std::vector<chat::ToolDefinition>& tools,
                                      std::shared_ptr<const grammar::TokenVocabulary> vocab) {
  using K = ToolChoice::Kind;
  using F = chat::ToolCallFormat;
  if ((choice.kind != K::required && choice.kind != K::named) || !vocab || tools.empty())
    return std::nullopt;
  std::string open, close;
  const char* args_key = "arguments";
  switch (format) {
    case F::hermes:
      open = "<tool_call>\n";
      close = "\n</tool_call>";
      break;
    case F::mistral:
      open = "[TOOL_CALLS][";
      close = "]";
      break;
    case F::llama_json:
      args_key = "parameters";
      break;
    default:
      return std::nullopt;
  }
  Json schema;
  if (choice.kind == K::named) {
    for (const auto& t : tools)
      if (t.name == choice.name) schema = call_schema(t, args_key);
    if (schema.is_null()) return std::nullopt;
  } else {
    Json any = Json::array();
    for (const auto& t : tools)
      any.push_back(call_schema(t, args_key));
    schema = any.size() == 1 ? any[0] : Json{{"anyOf", std::move(any)}};
  }
  auto inner = grammar::JsonSchemaConstraint::make(schema, vocab);
  if (!inner.ok()) return std::nullopt;
  return ForcedCall{std::move(open), std::make_shared<const grammar::SuffixConstraint>(
                                         std::move(*inner), std::move(close), std::move(vocab))};
}

}  // namespace agentrt::api
