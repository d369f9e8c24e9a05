#include "actors/workflow/tool_records_json.h"

namespace agentrt::actors::workflow {

nlohmann::json tool_record_json(const ToolCallRecord& r) {
  auto args = nlohmann::json::parse(r.arguments, nullptr, false);
  return {{"name", r.name},
          {"arguments", args.is_discarded() ? nlohmann::json(r.arguments) : args},
          {"ok", r.ok},
          {"result", r.result},
          {"duration_ms", r.duration_ms},
          {"attempts", r.attempts},
          {"turn", r.turn}};
}

nlohmann::json step_tool_records_json(const std::vector<SampleSummary>& samples, std::size_t max,
                                      std::size_t& dropped) {
  nlohmann::json out = nlohmann::json::array();
  dropped = 0;
  for (const auto& s : samples) {
    for (const auto& r : s.tool_records) {
      if (out.size() >= max) {
        ++dropped;
        continue;
      }
      nlohmann::json j = tool_record_json(r);
      j["unit"] = s.unit;
      if (s.sample >= 0) j["sample"] = s.sample;
      out.push_back(std::move(j));
    }
  }
  return out;
}

}  // namespace agentrt::actors::workflow
