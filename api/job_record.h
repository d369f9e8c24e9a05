// JobRecord: one job as the server keeps it, in memory and as the JSON document the job
// store holds (storage/job_store.h). The document is the job's whole durable state apart
// from its event log and step checkpoints.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/common/result.h"

namespace agentrt::api {

enum class JobState { queued, running, succeeded, failed, cancelled };
const char* to_string(JobState s);
std::optional<JobState> parse_job_state(const std::string& s);
inline bool finished(JobState s) {
  return s == JobState::succeeded || s == JobState::failed || s == JobState::cancelled;
}

// A step as GET /v1/jobs/{id} shows it.
struct StepView {
  std::string id;
  std::string state = "waiting";  // waiting, running, done, failed, cancelled, skipped
  std::int64_t tokens = 0;
  int tool_calls = 0;
  std::int64_t kv_reused_tokens = 0;  // prompt tokens served from cached KV
  double elapsed = 0.0;
  int units_total = 0;
  int units_done = 0;
  std::string error;
  int attempts = 0;      // the most attempts one of its units took (retries); 0: never started
  std::string reason{};  // skipped: why ("when: ... is false", "step 'x' was skipped")
  // Its units' tool calls (actors/workflow/tool_records_json.h), at most
  // kMaxStepToolRecords; the rest are counted in tool_records_dropped.
  nlohmann::json tool_records = nlohmann::json::array();
  std::int64_t tool_records_dropped = 0;
};

struct JobRecord {
  std::string id;
  JobState state = JobState::queued;
  std::string client;         // who submitted it (API key label or peer address)
  std::string workflow_name;  // the named workflow, or "" for inline YAML
  std::string yaml;           // the workflow text as submitted (named ones are copied in)
  std::vector<std::pair<std::string, std::string>> inputs;  // as given
  std::string request_hash;  // of the submitted body (an Idempotency-Key replay must match)
  nlohmann::json outputs = nlohmann::json::object();
  nlohmann::json error = nlohmann::json();  // null, or {"code", "message"}
  std::vector<StepView> steps;
  std::int64_t created_ms = 0;  // Unix time
  std::int64_t updated_ms = 0;
  int resumes = 0;  // times the job was restarted after the server stopped
  // The job's kv_reuse override (JobRequest): "" for none.
  std::string kv_reuse{};
  // The job's program (JobRequest::program): "" for none.
  std::string program{};
  std::optional<double> blend_recompute{};
  std::optional<bool> blend_anchors{};  // JobRequest::blend_anchors
};

nlohmann::json to_json(const JobRecord& r);
// Errors (parse): a member missing or of the wrong type, named by its JSON pointer.
Result<JobRecord> job_record_from_json(const nlohmann::json& j);
// The public view (GET /v1/jobs/{id}): everything but the YAML text.
nlohmann::json public_view(const JobRecord& r);

std::int64_t unix_ms_now();

}  // namespace agentrt::api
