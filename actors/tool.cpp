// make_builtin_tool and the calculator tool.
#include "actors/tool.h"

#include "actors/builtin_tools.h"
#include "actors/calculator.h"

namespace agentrt::actors {
namespace {

class CalculatorTool final : public Tool {
 public:
  explicit CalculatorTool(ToolSpec spec) : spec_(std::move(spec)) {}
  const ToolSpec& spec() const override { return spec_; }
  Result<std::string> invoke(const Json& arguments) override {
    auto v = evaluate_expression(arguments.at("expression").get<std::string>());
    if (!v.ok()) return v.error();
    return std::to_string(*v);
  }

 private:
  ToolSpec spec_;
};

}  // namespace

std::shared_ptr<Tool> make_calculator_tool(const ToolConfig& config) {
  ToolSpec s;
  s.name = config.name.empty() ? "calculator" : config.name;
  // The definition tiny-calc was trained with (models/tiny-calc/README.md).
  s.description = config.description.empty()
                      ? "Evaluate an integer arithmetic expression with + - * / and "
                        "parentheses. Division must be exact."
                      : config.description;
  s.parameters = Json::parse(R"json({"type": "object", "properties": {"expression":
      {"type": "string", "description": "The expression, e.g. 12 * (3 + 4)"}},
      "required": ["expression"]})json");
  s.timeout = config.timeout.count() > 0 ? config.timeout : std::chrono::milliseconds(1000);
  return std::make_shared<CalculatorTool>(std::move(s));
}

namespace {

Result<std::shared_ptr<Tool>> make_plain_tool(const ToolConfig& config) {
  switch (config.builtin) {
    case BuiltinTool::calculator:
      return make_calculator_tool(config);
    case BuiltinTool::http:
      return make_http_tool(config);
    case BuiltinTool::command:
      return make_command_tool(config);
    case BuiltinTool::custom:
      return make_custom_tool(config);
  }
  return make_error(ErrorCode::invalid_argument, "unknown built-in tool");
}

}  // namespace

Result<std::shared_ptr<Tool>> make_builtin_tool(const ToolConfig& config) {
  auto tool = make_plain_tool(config);
  if (!tool.ok() || !config.limits.any()) return tool;
  return make_limited_tool(std::move(*tool), config.limits);
}

}  // namespace agentrt::actors
