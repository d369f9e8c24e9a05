// StepStatus: what a running workflow reports about each step, for live progress and the
// final summary; StepResult and UnitOutcome: what a finished step or unit produced (a
// server checkpoints them, checkpoint.h). Plain values; the runner owns the live copies.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "actors/tool_call_record.h"
#include "workflows/value.h"
#include "workflows/workflow.h"

namespace agentrt::actors::workflow {

enum class StepState { waiting, running, done, failed, cancelled, skipped };
const char* to_string(StepState s);
// done, failed, cancelled or skipped: the step will not run again.
inline bool is_over(StepState s) {
  return s == StepState::done || s == StepState::failed || s == StepState::cancelled ||
         s == StepState::skipped;
}

// One best-of sample (or the single run of a plain agent unit).
struct SampleSummary {
  bool finished = false;
  std::optional<std::string> answer;
  std::int64_t tokens = 0;
  int tool_calls = 0;
  std::string error;
  std::string messages;  // the conversation as a JSON array of OpenAI-style messages
  int unit = 0;          // the map item or loop iteration
  int sample = -1;       // the best-of sample's index; -1 for a plain agent run
  std::vector<ToolCallRecord> tool_records{};  // its tool calls, in the order they were made
};

struct StepStatus {
  std::string id;
  workflows::StepKind kind = workflows::StepKind::agent;
  StepState state = StepState::waiting;
  std::string activity;  // the runtime's latest state: generating, tools, resumed, ...
  std::int64_t tokens = 0;
  std::int64_t cached_tokens = 0;  // prompt tokens its turns found in cached KV (any tier)
  int tool_calls = 0;
  double elapsed = 0.0;  // seconds since the step started (final when it ended)
  int units_total = 0;   // map items or loop iterations started; 1 otherwise
  int units_done = 0;
  int samples_total = 0;  // best_of: n per unit, over all units
  int samples_done = 0;
  std::string error;
  int attempts = 0;    // the most attempts one of its units took (1 without retries)
  std::string reason;  // skipped: why ("when: ... is false", "step 'x' was skipped")
};

// What one unit of work produced: one agent run or one best-of (a map item, a loop
// iteration, or a plain step's single run).
struct UnitOutcome {
  std::string output;
  std::optional<std::string> answer;  // best_of only
  double confidence = 0.0;            // best_of only: votes / samples
  std::vector<SampleSummary> samples;
};

// A finished step: its output, extracted fields, and the samples of a best_of.
struct StepResult {
  StepStatus status;
  workflows::Value output;
  std::map<std::string, workflows::Value> fields;
  // Every sample of every unit, in order. A step that did not finish (cancelled, failed)
  // lists those that had ended: best-of samples and map items, in the order they ended.
  std::vector<SampleSummary> samples;
};

}  // namespace agentrt::actors::workflow
