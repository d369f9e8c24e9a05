// Each agentrt subcommand registers its flags on the CLI11 app and returns the function that
// runs it. A command's function returns the process exit code; it never throws.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

namespace agentrt::cli {

using CommandFn = std::function<int()>;

CommandFn add_generate_command(CLI::App& app);
CommandFn add_info_command(CLI::App& app);
CommandFn add_tokenize_command(CLI::App& app);
CommandFn add_validate_command(CLI::App& app);
CommandFn add_run_command(CLI::App& app);
CommandFn add_serve_command(CLI::App& app);
CommandFn add_node_command(CLI::App& app);

// Exit codes shared by the commands.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// Prints "agentrt COMMAND: MESSAGE" to stderr and returns kExitUsage.
int usage_error(const char* command, const std::string& message);

}  // namespace agentrt::cli
