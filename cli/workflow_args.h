// Flags shared by `agentrt validate` and `agentrt run`: loading a workflow file and its
// `--input NAME=VALUE` pairs (VALUE may be @FILE to read it from a file).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/common/result.h"
#include "workflows/inputs.h"
#include "workflows/loader.h"

namespace agentrt::cli {

// Splits each "NAME=VALUE" and reads @FILE values (a regular file of at most
// kMaxInputFileBytes, engine/common/file_read.h; FIFOs and devices refused before reading).
// Errors (invalid_argument): a pair without '=', an empty name, an unreadable, special or
// too large @FILE.
Result<std::vector<std::pair<std::string, std::string>>> parse_input_flags(
    const std::vector<std::string>& flags);

struct CheckedWorkflow {
  workflows::LoadResult loaded;   // workflow and every diagnostic (load, validate, inputs)
  workflows::InputValues inputs;  // resolved values when `check_inputs` was asked for
};

// Loads and validates `path`; with `check_inputs`, also resolves `given` (missing
// required inputs, unknown names, wrong types).
CheckedWorkflow check_workflow(const std::string& path,
                               const std::vector<std::pair<std::string, std::string>>& given,
                               bool check_inputs);

}  // namespace agentrt::cli
