// The routing key of a workflow job for the coordinator (ClusterJob::blocks): the chained
// block keys (engine/kv/block_key.h) of the first prompt the job will prefill, computed with
// a Runtime of the model the nodes serve (its tokenizer, chat template, block size and KV
// key fingerprint), so they are the keys a node's engine reports in its KV events.
//
// The first prompt is that of the first step (in file order) that waits for no other: its
// agent's system prompt, tool definitions and the step's input, rendered from the job's
// inputs. What cannot be known before the run is left out, which only shortens the prefix
// that can match: an input naming another step's output, a map item or a loop value is
// rendered empty, and an agent that uses an MCP server's tools (the server is not started
// here) is rendered without tools (templates put their definitions after the system text,
// where its keys then stop matching).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "actors/runtime.h"
#include "engine/common/result.h"
#include "engine/kv/block_key.h"

namespace agentrt::cluster {

struct JobPrefix {
  std::vector<kv::BlockKey> blocks;  // of the prompt's full blocks, in order
  std::int64_t prompt_tokens = 0;
};

// Errors: the workflow does not load or its inputs do not resolve (invalid_argument, with
// the diagnostics), no step has an agent (not_found), the template's errors.
Result<JobPrefix> job_prefix(const actors::Runtime& rt, std::string_view workflow_yaml,
                             const std::string& workflow_file,
                             const std::vector<std::pair<std::string, std::string>>& inputs);

// The chained keys of the full blocks of `tokens` under `fingerprint`.
std::vector<kv::BlockKey> block_keys(std::span<const std::int32_t> tokens, int block_size,
                                     std::string_view fingerprint);

}  // namespace agentrt::cluster
