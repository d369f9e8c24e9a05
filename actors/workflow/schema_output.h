// A step's output_schema at run time: the decoding constraint its agents get, the line the
// prompt gains, the check of each unit's answer, and the step's typed fields from the
// JSON answers (docs/workflows.md, "Structured output").
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/runtime.h"
#include "engine/common/result.h"
#include "engine/grammar/json_schema_constraint.h"
#include "workflows/value.h"
#include "workflows/workflow.h"

namespace agentrt::actors::workflow {

// The constraint for `schema` over `rt`'s vocabulary. Errors: the schema's (the loader
// checked it) or the vocabulary's (a tokenizer without an end token).
Result<std::shared_ptr<const grammar::JsonSchemaConstraint>> output_constraint(
    const workflows::OutputSchemaSpec& schema, const Runtime& rt);

// Appended to the unit's input: tells the model the schema.
std::string schema_prompt(const workflows::OutputSchemaSpec& schema);

// `output` parsed and checked against the schema. Errors (invalid_argument): "output is not
// JSON of the step's output_schema: <why>", with `stop` when the agent did not end on a
// final answer (e.g. max_tokens cut the JSON).
Result<nlohmann::ordered_json> check_output(const workflows::OutputSchemaSpec& schema,
                                            const std::string& output, StopReason stop);

// A JSON value as a template value: a string as its text; an array as a list whose string
// elements are their text and other elements compact JSON; null as ""; anything else
// (numbers, booleans, objects) as compact JSON.
workflows::Value value_of_json(const nlohmann::ordered_json& j);

// The step's fields from its units' outputs (in item order; a unit whose output does not
// parse gives empty fields): each top-level property of the schema. A plain step's field is
// value_of_json of the property; a map step's is a list with one item per unit (the
// property's text: a string as is, anything else compact JSON, missing: "").
void add_schema_fields(const workflows::Step& step, const std::vector<const std::string*>& outputs,
                       std::map<std::string, workflows::Value>& fields);

}  // namespace agentrt::actors::workflow
