// Numeric flags reach the commands as text, so cli/flags/ parses them with their bounds and
// names the flag in every error (CLI11's own conversion would wrap, or exit with its codes).
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

namespace agentrt::cli {

// Registers `name` on `cmd`; when given, its text lands in `out` (which must outlive parsing).
CLI::Option* add_flag_text(CLI::App* cmd, const std::string& name, std::optional<std::string>& out,
                           const std::string& description);

}  // namespace agentrt::cli
