// The step graph of a job's workflow, for the dashboard's DAG (GET /v1/jobs/{id}/graph):
// {"name", "steps": [{"id", "agent", "kind" (agent, best_of, map, loop), "best_of" (n; 0 if
// none; -1 when a template sets it), "needs": [step ids it waits for], "level" (its depth in
// the graph)}]}.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

#include "engine/common/result.h"

namespace agentrt::api {

// The graph of workflow text `yaml` (`file` names it in messages). Errors: invalid_argument
// when the text does not load (the first diagnostic's message).
Result<nlohmann::json> job_graph_json(std::string_view yaml, const std::string& file);

}  // namespace agentrt::api
