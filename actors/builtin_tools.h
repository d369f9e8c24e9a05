// The built-in tools behind make_builtin_tool (tool.h): calculator, HTTP request, command,
// custom.
// Internal to actors/; callers use make_builtin_tool.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "actors/tool.h"

namespace agentrt::actors {

std::shared_ptr<Tool> make_calculator_tool(const ToolConfig& config);
Result<std::shared_ptr<Tool>> make_http_tool(const ToolConfig& config);
Result<std::shared_ptr<Tool>> make_command_tool(const ToolConfig& config);
Result<std::shared_ptr<Tool>> make_custom_tool(const ToolConfig& config);

// Arguments the model may append to a command tool's argv (append_args): at most
// kMaxCommandArgs strings of 1..kMaxCommandArgBytes bytes, none starting with '-' (no
// options) and none holding a NUL byte. Errors (invalid_argument) name /args/i and the limit.
inline constexpr std::size_t kMaxCommandArgs = 16;
inline constexpr std::size_t kMaxCommandArgBytes = 256;
Result<std::vector<std::string>> check_appended_args(const Json& args);

// Runs argv with `input` on stdin in its own process group, in directory `cwd` (empty: this
// process's); returns stdout+stderr (cut at max_output bytes, with a note). Errors: timeout
// (the group is killed), a spawn failure or a bad cwd, a non-zero exit status (with the
// output).
Result<std::string> run_command(const std::vector<std::string>& argv, const std::string& input,
                                std::chrono::milliseconds timeout, std::size_t max_output,
                                const std::string& cwd = {});

}  // namespace agentrt::actors
