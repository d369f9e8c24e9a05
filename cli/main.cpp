// agentrt: the command-line entry point. Subcommands live one per file (cli/*_command.cpp).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <map>
#include <string>

#include "cli/command.h"
#include "cli/default_model.h"

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
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  for (auto* sub : app.get_subcommands()) {
    try {
      return commands.at(sub->get_name())();
    } catch (const std::exception& e) {  // last resort: no exception leaves main
      std::fprintf(stderr, "agentrt: internal error: %s\n", e.what());
      return agentrt::cli::kExitFailure;
    }
  }
  return agentrt::cli::kExitUsage;
}
