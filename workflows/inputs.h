// Run inputs: the values given for a workflow's declared inputs (`--input k=v`), checked
// against their types, with defaults filled in.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/common/result.h"
#include "workflows/diagnostic.h"
#include "workflows/workflow.h"

namespace agentrt::workflows {

using InputValues = std::map<std::string, Value>;

// Whether `text` is a valid value of the input's type (int: a decimal integer; number: a
// decimal number; bool: true/false; list: what Value::to_items accepts; string: anything,
// but text that starts like a JSON array may nest at most kMaxJsonDepth). Errors name the
// input and the type, and echo at most kMaxEchoBytes of the value.
Status check_input_value(const InputSpec& in, const std::string& text);

// Resolves the given (name, text) pairs. A list input's text is a JSON array of strings or
// one item per line. Reports, all at once: names the workflow does not declare, values of
// the wrong type, and required inputs (no default) that were not given (at their
// declaration). Returns the values of every declared input that has one.
InputValues resolve_inputs(const Workflow& wf,
                           const std::vector<std::pair<std::string, std::string>>& given,
                           Diagnostics& diags);

}  // namespace agentrt::workflows
