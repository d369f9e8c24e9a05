#include "cli/workflow_args.h"

#include "engine/common/echo.h"
#include "engine/common/file_read.h"

namespace agentrt::cli {

Result<std::vector<std::pair<std::string, std::string>>> parse_input_flags(
    const std::vector<std::string>& flags) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& f : flags) {
    const auto eq = f.find('=');
    if (eq == std::string::npos || eq == 0)
      return make_error(ErrorCode::invalid_argument,
                        "--input '" + echo_value(f) + "': expected NAME=VALUE (or NAME=@FILE)");
    std::string value = f.substr(eq + 1);
    if (!value.empty() && value[0] == '@') {
      auto text = read_file_bounded(value.substr(1), kMaxInputFileBytes);
      if (!text.ok())
        return make_error(ErrorCode::invalid_argument,
                          "--input " + echo_value(f.substr(0, eq)) + ": " + text.error().message);
      value = std::move(*text);
      while (!value.empty() && (value.back() == '\n' || value.back() == '\r'))
        value.pop_back();
    }
    out.emplace_back(f.substr(0, eq), std::move(value));
  }
  return out;
}

CheckedWorkflow check_workflow(const std::string& path,
                               const std::vector<std::pair<std::string, std::string>>& given,
                               bool check_inputs) {
  CheckedWorkflow c{workflows::check_workflow_file(path), {}};
  if (check_inputs && c.loaded.parsed)
    c.inputs = workflows::resolve_inputs(c.loaded.workflow, given, c.loaded.diagnostics);
  return c;
}

}  // namespace agentrt::cli
