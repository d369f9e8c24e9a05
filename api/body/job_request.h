// JobRequest: the body of POST /v1/jobs, parsed and checked. Either "yaml" (the workflow
// inline) or "workflow" (a name in the server's workflow directory), plus "inputs": an
// object of strings, numbers, booleans or arrays of strings (a list input). Errors point at
// the offending member with a JSON pointer.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/body/api_error.h"

namespace agentrt::api {

struct JobRequest {
  std::string yaml;      // inline workflow text; empty when `workflow` is set
  std::string workflow;  // a workflow name (file name without directories)
  // Input values as `agentrt run --input NAME=VALUE` texts, in the body's order.
  std::vector<std::pair<std::string, std::string>> inputs;
  // Issue 21: the job's KV reuse, replacing the workflow's at every level ("exact" or
  // "blend"; empty: the workflow's own), its recompute fraction in [0, 1] and whether its
  // placements use the anchor pool (unset: the server's --blend-anchors).
  std::string kv_reuse;
  std::optional<double> blend_recompute;
  std::optional<bool> blend_anchors;
  // The agent program the job belongs to: on a cluster, program_affinity keeps a program's
  // jobs on one node (cluster.md). Empty: the job is a program of its own.
  std::string program;
};

// Errors: 400 invalid_body (not JSON, not an object, nested deeper than kMaxJsonDepth),
// 422 invalid_request (unknown or missing members, wrong types, both or neither of yaml and
// workflow, a bad workflow name, too many inputs, kv_reuse other than exact or blend,
// blend_recompute outside [0, 1], blend_anchors not a boolean, either without kv_reuse
// blend, a program name empty, over
// kMaxProgramBytes or with control characters), 413 too_large (yaml over kMaxYamlBytes).
ApiOr<JobRequest> parse_job_request(std::string_view body);

// Whether `name` may name a workflow file: letters, digits, '_', '-', '.', not starting
// with '.', at most 128 bytes; a missing ".yaml"/".yml" is added by the caller.
bool valid_workflow_name(std::string_view name);

// "/inputs/a~1b" for member "a/b" (RFC 6901 escaping).
std::string json_pointer(std::string_view parent, std::string_view member);

}  // namespace agentrt::api
