// Tool-call records as JSON, for reports: `agentrt run --json` (per sample) and the REST job
// result (per step). Text may hold invalid UTF-8: serialise with a replacing dump.
#pragma once

#include <cstddef>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/tool_call_record.h"
#include "actors/workflow/step_status.h"

namespace agentrt::actors::workflow {

// Records a REST job's step keeps (the first ones, in unit and call order); the rest are
// counted in tool_records_dropped.
inline constexpr std::size_t kMaxStepToolRecords = 256;

// {name, arguments (the JSON, or its text when it does not parse), ok, result, duration_ms,
// attempts (0: not known), turn}.
nlohmann::json tool_record_json(const ToolCallRecord& r);
// Every record of the samples, each with its sample's unit (and best-of sample index when
// >= 0), at most `max` of them; `dropped` gets how many were left out.
nlohmann::json step_tool_records_json(const std::vector<SampleSummary>& samples, std::size_t max,
                                      std::size_t& dropped);

}  // namespace agentrt::actors::workflow
