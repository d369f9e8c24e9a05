// agentrt: the command-line entry point. Subcommands live one per file (cli/*_command.cpp).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <map>
#include <string>

#include "cli/command.h"
#include "cli/default_model.h"

namespace agentrt::cli {

int usage_error(const char* command, const std::string& message) {
  std::fprintf(stderr, "agentrt %s: %s\n", command, message.c_str());
  return kExitUsage;
}

}  // namespace agentrt::cli

namespace {

// CLI11 reports a malformed command line with its own codes (104-114); agentrt's is 2.
// --help and --version end parsing with code 0 and keep it.
int parse_exit_code(CLI::App& app, const CLI::ParseError& e) {
  const int code = app.exit(e);
  return code == 0 ? agentrt::cli::kExitOk : agentrt::cli::kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"agentrt: a runtime for agentic LLM workloads"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "agentrt 0.1.0");
  std::map<std::string, agentrt::cli::CommandFn> commands;
  commands["generate"] = agentrt::cli::add_generate_command(app);
  commands["info"] = agentrt::cli::add_info_command(app);
  commands["tokenize"] = agentrt::cli::add_tokenize_command(app);
  commands["validate"] = agentrt::cli::add_validate_command(app);
  commands["run"] = agentrt::cli::add_run_command(app);
  commands["serve"] = agentrt::cli::add_serve_command(app);
  commands["node"] = agentrt::cli::add_node_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return parse_exit_code(app, e);
  }
  for (auto* sub : app.get_subcommands()) {
    try {
      return commands.at(sub->get_name())();
    } catch (const std::filesystem::filesystem_error& e) {  // a path the OS refused
      std::fprintf(stderr, "agentrt: %s: %s\n", e.path1().string().c_str(),
                   e.code().message().c_str());
      return agentrt::cli::kExitFailure;
    } catch (const std::exception& e) {  // last resort: no exception leaves main
      std::fprintf(stderr, "agentrt: internal error: %s\n", e.what());
      return agentrt::cli::kExitFailure;
    }
  }
  return agentrt::cli::kExitUsage;
}
