// Scripted multi-turn agent programs for bench/agentic_gpu_bench (issue 16, workload A: the
// Continuum setting). Random weights cannot call tools, so each program is a script: a
// prompt (a system prompt shared by all programs, then its own task), then turns of a fixed
// number of output tokens (EOS ignored), each but the last followed by a tool call of a
// drawn duration whose result (a drawn number of tokens) is appended. Arrivals are a Poisson
// process of unit rate; a run divides them by its rate. Deterministic from the seed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace agentrt::bench {

struct WorkloadOptions {
  int programs = 16;
  double mean_turns = 10.9;                  // SWE-bench-like; 6.3 for BFCL-like
  int system_tokens = 1024;                  // shared by every program
  int prompt_min = 2048, prompt_max = 6144;  // whole first prompt, system included
  int output_min = 100, output_max = 400;
  int result_min = 200, result_max = 2000;
  // Tool durations: log-normal around these medians (sigma tool_sigma), chosen with these
  // shares (the rest is the tail).
  double fast_s = 0.3, medium_s = 3.0, slow_s = 20.0;
  double fast_share = 0.6, medium_share = 0.3;
  double tool_sigma = 0.4;
  double tool_scale = 1.0;  // multiplies every duration (documented when not 1)
  // Share of calls that take 10x longer than their tool's history predicts.
  double mispredict_share = 0.0;
  int vocab = 32000;  // token ids drawn from [16, vocab)
  std::uint64_t seed = 16;
};

struct ScriptedTurn {
  int output_tokens = 0;
  std::string tool;  // "fast", "medium" or "slow"; empty on the last turn
  double tool_seconds = 0;
  std::vector<std::int32_t> result;  // appended after the tool returns
};

struct ScriptedProgram {
  double arrival = 0;  // seconds at unit rate
  std::vector<std::int32_t> prompt;
  std::vector<ScriptedTurn> turns;
  std::int64_t output_tokens() const;
};

// The programs, and the shared system prompt's length in tokens (prompt[0, n)).
std::vector<ScriptedProgram> make_programs(const WorkloadOptions& o);

// "swe" (10.9 turns) or "bfcl" (6.3 turns); false for an unknown name.
bool apply_workload_preset(const std::string& name, WorkloadOptions& o);

}  // namespace agentrt::bench
