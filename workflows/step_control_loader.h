// Reading a step's control-flow keys: `when` (a condition.h condition), `timeout`,
// `retries` and `backoff`. Internal to the loader; docs/workflows.md documents the keys.
#pragma once

#include <string>

#include "workflows/workflow.h"
#include "workflows/yaml_reader.h"

namespace agentrt::workflows {

// Reads `f` into `s` when its key is one of when, timeout, retries, backoff (other keys
// are ignored), reporting syntax errors and out-of-range values at their place. `what`
// names the step ("step 'solve'").
void load_step_control(YamlReader& r, const YamlEntry& f, const std::string& what, Step& s);

// After every key of the step: `backoff` without `retries` is an error at the backoff.
void check_step_control(YamlReader& r, const YamlEntries& e, const std::string& what,
                        const Step& s);

}  // namespace agentrt::workflows
