// `agentrt validate WF.yaml [--input NAME=VALUE ...]`: loads and validates a workflow and
// prints every problem at once as file:line:col. Exit 0 valid, 1 invalid, 2 usage.
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/json_output.h"
#include "cli/workflow_args.h"
#include "engine/common/file_read.h"
#include "workflows/planner.h"

namespace agentrt::cli {
namespace {

struct ValidateArgs {
  std::string file;
  std::vector<std::string> inputs;
  bool json = false;
};

std::string describe_plan(const workflows::Workflow& wf) {
  const auto plan = workflows::plan_workflow(wf);
  std::string out;
  for (const auto& level : plan.levels) {
    out += out.empty() ? "[" : " -> [";
    for (std::size_t i = 0; i < level.size(); ++i)
      out += (i ? ", " : "") + wf.steps[static_cast<std::size_t>(level[i])].id;
    out += "]";
  }
  return out;
}

int run_validate(const ValidateArgs& a) {
  if (a.file.empty()) {
    std::fprintf(stderr, "agentrt validate: give a workflow file (agentrt validate WF.yaml)\n");
    return kExitUsage;
  }
  // stat only: a FIFO or device never blocks here, and a symlink loop is named as such.
  if (auto st = check_regular_file(a.file, kMaxWorkflowFileBytes); !st.ok()) {
    std::fprintf(stderr, "agentrt validate: %s\n", st.error().message.c_str());
    return kExitUsage;
  }
  auto given = parse_input_flags(a.inputs);
  if (!given.ok()) {
    std::fprintf(stderr, "agentrt validate: %s\n", given.error().message.c_str());
    return kExitUsage;
  }
  const auto c = check_workflow(a.file, *given, !a.inputs.empty());
  const auto& d = c.loaded.diagnostics;
  if (a.json) {
    nlohmann::json errors = nlohmann::json::array();
    for (const auto& e : d.items())
      errors.push_back({{"line", e.loc.line}, {"column", e.loc.col}, {"message", e.message}});
    nlohmann::json out = {{"file", a.file}, {"valid", d.empty()}, {"errors", errors}};
    std::printf("%s\n", dump_json(out).c_str());
  } else if (d.empty()) {
    const auto& wf = c.loaded.workflow;
    std::printf("%s: valid workflow '%s': %zu step(s) %s\n", a.file.c_str(), wf.name.c_str(),
                wf.steps.size(), describe_plan(wf).c_str());
  } else {
    std::fprintf(stderr, "%s", d.to_string().c_str());
    std::fprintf(stderr, "%s: %zu error(s)\n", a.file.c_str(), d.size());
  }
  return d.empty() ? kExitOk : kExitFailure;
}

}  // namespace

CommandFn add_validate_command(CLI::App& app) {
  auto a = std::make_shared<ValidateArgs>();
  auto* cmd = app.add_subcommand("validate", "Check a workflow file and report every error");
  cmd->add_option("file", a->file, "Workflow YAML file");
  cmd->add_option("--input", a->inputs, "NAME=VALUE (or NAME=@FILE): also check the run's inputs");
  cmd->add_flag("--json", a->json, "Print {file, valid, errors: [{line, column, message}]}");
  return [a]() { return run_validate(*a); };
}

}  // namespace agentrt::cli
