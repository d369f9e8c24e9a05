// Checkpoints of a run: a finished step (StepResult) or unit (UnitOutcome) as JSON and
// back, so a server can store them (RunHooks::step_done / unit_done) and resume a run from
// them (ResumeState). The round trip is exact. Text is kept byte for byte, so it may hold
// invalid UTF-8 (a model's output): serialise with error_handler_t::replace, or a binary
// format (CBOR).
//
// StepResult: {"status": {id, kind, state, activity, tokens, tool_calls, elapsed,
//   units_total, units_done, samples_total, samples_done, error}, "output": V,
//   "fields": {name: V}, "samples": [S]}
// UnitOutcome: {"output": text, "answer": text|null, "confidence": number, "samples": [S]}
// S (a sample): {finished, answer: text|null, tokens, tool_calls, error, messages (the
//   conversation's JSON text), unit, sample}. V (a value): a string or an array of strings.
#pragma once

#include <nlohmann/json.hpp>

#include "actors/workflow/step_status.h"
#include "engine/common/result.h"

namespace agentrt::actors::workflow {

nlohmann::json to_json(const StepResult& r);
nlohmann::json to_json(const UnitOutcome& u);

// The inverse of to_json. Errors (parse): a missing key or a wrong type, naming its JSON
// pointer ("checkpoint: /samples/2/tokens: expected an integer").
Result<StepResult> step_result_from_json(const nlohmann::json& j);
Result<UnitOutcome> unit_outcome_from_json(const nlohmann::json& j);

// "agent", "best_of", "map", "loop"; parse_step_state / parse_step_kind: nullopt for others.
const char* to_string(workflows::StepKind k);
std::optional<StepState> parse_step_state(const std::string& s);
std::optional<workflows::StepKind> parse_step_kind(const std::string& s);

}  // namespace agentrt::actors::workflow
