// The step graph of a workflow: the planner's dependencies and levels as JSON.
#include "api/dashboard/job_graph.h"

#include "workflows/loader.h"
#include "workflows/planner.h"

namespace agentrt::api {
namespace {

const char* kind_name(workflows::StepKind k) {
  switch (k) {
    case workflows::StepKind::agent:
      return "agent";
    case workflows::StepKind::best_of:
      return "best_of";
    case workflows::StepKind::map:
      return "map";
    case workflows::StepKind::loop:
      return "loop";
  }
  return "agent";
}

}  // namespace

Result<nlohmann::json> job_graph_json(std::string_view yaml, const std::string& file) {
  auto loaded = workflows::load_workflow(yaml, file);
  if (!loaded.parsed || !loaded.diagnostics.empty()) {
    const auto& d = loaded.diagnostics;
    return make_error(ErrorCode::invalid_argument,
                      d.empty() ? "the workflow does not load" : d.format(d.items().front()));
  }
  const auto& wf = loaded.workflow;
  const auto plan = workflows::plan_workflow(wf);
  std::vector<int> level(wf.steps.size(), 0);
  for (std::size_t l = 0; l < plan.levels.size(); ++l)
    for (int s : plan.levels[l])
      level[static_cast<std::size_t>(s)] = static_cast<int>(l);
  nlohmann::json steps = nlohmann::json::array();
  for (std::size_t i = 0; i < wf.steps.size(); ++i) {
    const auto& s = wf.steps[i];
    nlohmann::json needs = nlohmann::json::array();
    if (i < plan.deps.size())
      for (const auto& e : plan.deps[i])
        needs.push_back(wf.steps[static_cast<std::size_t>(e.from)].id);
    steps.push_back({{"id", s.id},
                     {"agent", s.agent.name},
                     {"kind", kind_name(s.kind())},
                     {"best_of", !s.best_of              ? 0
                                 : s.best_of->n_template ? -1
                                                         : s.best_of->n},
                     {"needs", needs},
                     {"level", level[i]}});
  }
  return nlohmann::json{{"name", wf.name}, {"steps", steps}};
}

}  // namespace agentrt::api
