#include "cli/run_report.h"

#include <cstdio>
#include <string>

#include "actors/workflow/tool_records_json.h"
#include "cli/json_output.h"

namespace agentrt::cli {
namespace {

nlohmann::json to_json(const workflows::Value& v) {
  return v.is_list() ? nlohmann::json(v.list()) : nlohmann::json(v.text());
}

nlohmann::json tool_records_json(const std::vector<actors::ToolCallRecord>& records) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : records)
    out.push_back(actors::workflow::tool_record_json(r));
  return out;
}

nlohmann::json samples_json(const std::vector<actors::workflow::SampleSummary>& samples) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& s : samples)
    out.push_back({{"finished", s.finished},
                   {"answer", s.answer ? nlohmann::json(*s.answer) : nlohmann::json()},
                   {"tokens", s.tokens},
                   {"tool_calls", s.tool_calls},
                   {"error", s.error},
                   {"messages", json_or_text(s.messages)},
                   {"tool_records", tool_records_json(s.tool_records)}});
  return out;
}

nlohmann::json step_json(const actors::workflow::StepResult& r) {
  nlohmann::json fields = nlohmann::json::object();
  for (const auto& [k, v] : r.fields)
    fields[k] = to_json(v);
  return {{"id", r.status.id},
          {"state", actors::workflow::to_string(r.status.state)},
          {"tokens", r.status.tokens},
          {"cached_tokens", r.status.cached_tokens},
          {"tool_calls", r.status.tool_calls},
          {"seconds", r.status.elapsed},
          {"error", r.status.error},
          {"attempts", r.status.attempts},
          {"reason", r.status.reason},
          {"output", to_json(r.output)},
          {"fields", fields},
          {"samples", samples_json(r.samples)}};
}

}  // namespace

nlohmann::json run_report_json(const workflows::Workflow& wf,
                               const actors::workflow::WorkflowOutcome& o) {
  nlohmann::json outputs = nlohmann::json::object();
  for (const auto& [name, v] : o.outputs)
    outputs[name] = to_json(v);
  nlohmann::json steps = nlohmann::json::array();
  for (const auto& r : o.steps)
    steps.push_back(step_json(r));
  nlohmann::json kv = nlohmann::json::array();
  for (const auto& m : o.metrics)
    kv.push_back({{"lookup_tokens", m.kv.lookup_tokens},
                  {"hit_tokens", m.kv.hit_tokens[0]},
                  {"prefilled_tokens", m.engine.prefilled_tokens},
                  {"decoded_tokens", m.engine.decoded_tokens}});
  return {{"workflow", wf.name},
          {"ok", o.status.ok()},
          {"error", o.status.ok() ? "" : o.status.error().message},
          {"outputs", outputs},
          {"steps", steps},
          {"engines", kv},
          {"seconds", o.seconds}};
}

void print_run_report_text(const actors::workflow::WorkflowOutcome& o) {
  for (const auto& [name, v] : o.outputs) {
    const std::string text = v.to_text();
    if (text.find('\n') == std::string::npos) {
      std::printf("%s: %s\n", name.c_str(), text.c_str());
    } else {
      std::printf("%s:\n", name.c_str());
      for (const auto& line : workflows::Value(text).to_list())
        std::printf("  %s\n", line.c_str());
    }
  }
  for (const auto& m : o.metrics)
    std::fprintf(stderr, "[%.2f s; KV: %lld of %lld prompt tokens reused from the cache]\n",
                 o.seconds, static_cast<long long>(m.kv.hit_tokens[0]),
                 static_cast<long long>(m.kv.lookup_tokens));
}

}  // namespace agentrt::cli
