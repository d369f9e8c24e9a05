// The custom tool: the workflow author's program, JSON arguments on stdin, result on stdout.
#include "actors/builtin_tools.h"
#include "actors/json_schema.h"

namespace agentrt::actors {
namespace {

class CustomTool final : public Tool {
 public:
  CustomTool(ToolSpec spec, CustomToolOptions opt, std::string cwd)
      : spec_(std::move(spec)), opt_(std::move(opt)), cwd_(std::move(cwd)) {}
  const ToolSpec& spec() const override { return spec_; }
  Result<std::string> invoke(const Json& args) override {
    // One line: a program may read a line or read to EOF (stdin is closed after it).
    return run_command(opt_.argv, args.dump() + "\n", opt_.timeout, opt_.max_output_bytes, cwd_);
  }

 private:
  ToolSpec spec_;
  CustomToolOptions opt_;
  std::string cwd_;
};

}  // namespace

Result<std::shared_ptr<Tool>> make_custom_tool(const ToolConfig& config) {
  const std::string where = "custom tool '" + config.name + "'";
  if (config.name.empty())
    return make_error(ErrorCode::invalid_argument, "custom tool: the name is empty");
  if (config.custom.argv.empty() || config.custom.argv[0].empty())
    return make_error(ErrorCode::invalid_argument, where + ": argv is not configured");
  if (auto st = check_schema(config.custom.schema); !st.ok())
    return st.error().with_context(where + ": schema");
  if (!config.custom.schema.is_object() ||
      config.custom.schema.value("type", std::string()) != "object")
    return make_error(ErrorCode::invalid_argument, where + ": schema must be an object schema");
  ToolSpec s;
  s.name = config.name;
  s.description =
      config.description.empty() ? "Run the '" + config.name + "' tool." : config.description;
  s.parameters = config.custom.schema;
  CustomToolOptions opt = config.custom;
  if (config.timeout.count() > 0) opt.timeout = config.timeout;
  // The agent waits a little longer than the process may run, so the kill is what reports.
  s.timeout = opt.timeout + std::chrono::seconds(1);
  return std::shared_ptr<Tool>(std::make_shared<CustomTool>(std::move(s), opt, config.cwd));
}

}  // namespace agentrt::actors
