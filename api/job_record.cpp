#include "api/job_record.h"

#include <chrono>

namespace agentrt::api {
namespace {

using nlohmann::json;

json step_json(const StepView& s) {
  return {{"id", s.id},
          {"state", s.state},
          {"tokens", s.tokens},
          {"tool_calls", s.tool_calls},
          {"kv_reused_tokens", s.kv_reused_tokens},
          {"elapsed", s.elapsed},
          {"units_total", s.units_total},
          {"units_done", s.units_done},
          {"error", s.error},
          {"attempts", s.attempts},
          {"reason", s.reason},
          {"tool_records", s.tool_records},
          {"tool_records_dropped", s.tool_records_dropped}};
}

template <class T>
Status get_to(const json& j, const char* key, T& out, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end()) return make_error(ErrorCode::parse, where + "/" + key + ": missing");
  try {
    out = it->get<T>();
  } catch (const json::exception&) {
    return make_error(ErrorCode::parse, where + "/" + key + ": wrong type");
  }
  return ok_status();
}

}  // namespace

const char* to_string(JobState s) {
  switch (s) {
    case JobState::queued:
      return "queued";
    case JobState::running:
      return "running";
    case JobState::succeeded:
      return "succeeded";
    case JobState::failed:
      return "failed";
    case JobState::cancelled:
      return "cancelled";
  }
  return "?";
}

std::optional<JobState> parse_job_state(const std::string& s) {
  for (JobState st : {JobState::queued, JobState::running, JobState::succeeded, JobState::failed,
                      JobState::cancelled})
    if (s == to_string(st)) return st;
  return std::nullopt;
}

std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

json to_json(const JobRecord& r) {
  json j = public_view(r);
  j["yaml"] = r.yaml;
  j["request_hash"] = r.request_hash;
  if (!r.kv_reuse.empty()) j["kv_reuse"] = r.kv_reuse;
  if (r.blend_recompute) j["blend_recompute"] = *r.blend_recompute;
  if (r.blend_anchors) j["blend_anchors"] = *r.blend_anchors;
  return j;
}

json public_view(const JobRecord& r) {
  json inputs = json::object();
  for (const auto& [k, v] : r.inputs)
    inputs[k] = v;
  json steps = json::array();
  for (const auto& s : r.steps)
    steps.push_back(step_json(s));
  json v = {{"id", r.id},
            {"state", to_string(r.state)},
            {"client", r.client},
            {"workflow", r.workflow_name},
            {"inputs", inputs},
            {"outputs", r.outputs},
            {"error", r.error},
            {"steps", steps},
            {"created_ms", r.created_ms},
            {"updated_ms", r.updated_ms},
            {"resumes", r.resumes}};
  if (!r.program.empty()) v["program"] = r.program;
  return v;
}

Result<JobRecord> job_record_from_json(const json& j) {
  if (!j.is_object()) return make_error(ErrorCode::parse, "job record: not an object");
  JobRecord r;
  std::string state;
  json inputs, steps;
  AGENTRT_TRY(get_to(j, "id", r.id, ""));
  AGENTRT_TRY(get_to(j, "state", state, ""));
  AGENTRT_TRY(get_to(j, "client", r.client, ""));
  AGENTRT_TRY(get_to(j, "workflow", r.workflow_name, ""));
  AGENTRT_TRY(get_to(j, "yaml", r.yaml, ""));
  AGENTRT_TRY(get_to(j, "request_hash", r.request_hash, ""));
  AGENTRT_TRY(get_to(j, "inputs", inputs, ""));
  AGENTRT_TRY(get_to(j, "outputs", r.outputs, ""));
  AGENTRT_TRY(get_to(j, "error", r.error, ""));
  AGENTRT_TRY(get_to(j, "steps", steps, ""));
  AGENTRT_TRY(get_to(j, "created_ms", r.created_ms, ""));
  AGENTRT_TRY(get_to(j, "updated_ms", r.updated_ms, ""));
  AGENTRT_TRY(get_to(j, "resumes", r.resumes, ""));
  if (const auto k = j.find("kv_reuse"); k != j.end() && k->is_string())
    r.kv_reuse = k->get<std::string>();
  if (const auto b = j.find("blend_recompute"); b != j.end() && b->is_number())
    r.blend_recompute = b->get<double>();
  if (const auto b = j.find("blend_anchors"); b != j.end() && b->is_boolean())
    r.blend_anchors = b->get<bool>();
  if (const auto p = j.find("program"); p != j.end() && p->is_string())
    r.program = p->get<std::string>();
  auto st = parse_job_state(state);
  if (!st) return make_error(ErrorCode::parse, "/state: unknown state '" + state + "'");
  r.state = *st;
  if (!inputs.is_object()) return make_error(ErrorCode::parse, "/inputs: expected an object");
  for (const auto& [k, v] : inputs.items()) {
    if (!v.is_string()) return make_error(ErrorCode::parse, "/inputs/" + k + ": expected a string");
    r.inputs.emplace_back(k, v.get<std::string>());
  }
  if (!steps.is_array()) return make_error(ErrorCode::parse, "/steps: expected an array");
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const std::string where = "/steps/" + std::to_string(i);
    StepView s;
    AGENTRT_TRY(get_to(steps[i], "id", s.id, where));
    AGENTRT_TRY(get_to(steps[i], "state", s.state, where));
    AGENTRT_TRY(get_to(steps[i], "tokens", s.tokens, where));
    AGENTRT_TRY(get_to(steps[i], "tool_calls", s.tool_calls, where));
    AGENTRT_TRY(get_to(steps[i], "kv_reused_tokens", s.kv_reused_tokens, where));
    AGENTRT_TRY(get_to(steps[i], "elapsed", s.elapsed, where));
    AGENTRT_TRY(get_to(steps[i], "units_total", s.units_total, where));
    AGENTRT_TRY(get_to(steps[i], "units_done", s.units_done, where));
    AGENTRT_TRY(get_to(steps[i], "error", s.error, where));
    if (steps[i].contains("attempts")) {  // records stored before they existed lack them
      AGENTRT_TRY(get_to(steps[i], "attempts", s.attempts, where));
      AGENTRT_TRY(get_to(steps[i], "reason", s.reason, where));
    }
    if (steps[i].contains("tool_records")) {  // records stored before they existed lack it
      AGENTRT_TRY(get_to(steps[i], "tool_records", s.tool_records, where));
      AGENTRT_TRY(get_to(steps[i], "tool_records_dropped", s.tool_records_dropped, where));
      if (!s.tool_records.is_array())
        return make_error(ErrorCode::parse, where + "/tool_records: expected an array");
    }
    r.steps.push_back(std::move(s));
  }
  return r;
}

}  // namespace agentrt::api
