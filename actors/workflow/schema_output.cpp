#include "actors/workflow/schema_output.h"

#include "engine/grammar/schema_compiler.h"
#include "engine/grammar/schema_match.h"

namespace agentrt::actors::workflow {
namespace {

using Json = nlohmann::ordered_json;

std::string compact(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string item_text(const Json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_null()) return "";
  return compact(j);
}

Result<std::shared_ptr<const grammar::SchemaGrammar>> compile(
    const workflows::OutputSchemaSpec& schema) {
  auto g = grammar::compile_schema_text(schema.json);
  if (!g.ok()) return g.error().with_context("output_schema");
  return g;
}

}  // namespace

Result<std::shared_ptr<const grammar::JsonSchemaConstraint>> output_constraint(
    const workflows::OutputSchemaSpec& schema, const Runtime& rt) {
  auto g = compile(schema);
  if (!g.ok()) return g.error();
  auto vocab = rt.token_vocabulary();
  if (!vocab.ok()) return vocab.error().with_context("output_schema");
  return std::make_shared<const grammar::JsonSchemaConstraint>(std::move(*g), std::move(*vocab),
                                                               schema.json);
}

std::string schema_prompt(const workflows::OutputSchemaSpec& schema) {
  return "\n\nGive your final answer as JSON only, matching this JSON schema:\n" + schema.json;
}

Result<Json> check_output(const workflows::OutputSchemaSpec& schema, const std::string& output,
                          StopReason stop) {
  auto g = compile(schema);
  if (!g.ok()) return g.error();
  auto v = grammar::parse_matching(**g, output);
  if (v.ok()) return v;
  std::string why = "output is not JSON of the step's output_schema: " + v.error().message;
  if (stop != StopReason::final_answer)
    why += std::string(" (the agent stopped: ") + to_string(stop) + ")";
  return make_error(ErrorCode::invalid_argument, why);
}

workflows::Value value_of_json(const Json& j) {
  if (!j.is_array()) return workflows::Value(item_text(j));
  std::vector<std::string> items;
  items.reserve(j.size());
  for (const auto& e : j)
    items.push_back(item_text(e));
  return workflows::Value(std::move(items));
}

void add_schema_fields(const workflows::Step& step, const std::vector<const std::string*>& outputs,
                       std::map<std::string, workflows::Value>& fields) {
  if (!step.output_schema) return;
  std::vector<Json> parsed;
  for (const std::string* o : outputs) {
    Json j = o ? Json::parse(*o, nullptr, false) : Json();
    parsed.push_back(j.is_object() ? std::move(j) : Json::object());
  }
  for (const auto& name : step.output_schema->fields) {
    if (!step.map) {
      const Json* v =
          parsed.empty() || !parsed.front().contains(name) ? nullptr : &parsed.front()[name];
      fields[name] = v ? value_of_json(*v) : workflows::Value("");
      continue;
    }
    std::vector<std::string> items;
    for (const auto& p : parsed)
      items.push_back(p.contains(name) ? item_text(p[name]) : "");
    fields[name] = workflows::Value(std::move(items));
  }
}

}  // namespace agentrt::actors::workflow
