// Reading the `kv_reuse`, `blend_recompute` and `blend_anchors` keys of a workflow, agent or step
// (workflow.h KvReuseSpec). Internal to the loader; docs/workflows.md documents the keys.
#pragma once

#include <string>

#include "workflows/workflow.h"
#include "workflows/yaml_reader.h"

namespace agentrt::workflows {

// Reads `f` into `spec` when its key is kv_reuse (exact or blend), blend_recompute (a
// number in [0, 1]) or blend_anchors (a boolean); other keys are ignored. Bad values are reported
// at their place. `what` names the mapping ("step 'solve'", "agents.solver", "workflow").
void load_kv_reuse(YamlReader& r, const YamlEntry& f, const std::string& what, KvReuseSpec& spec);

// After every key of the mapping: blend_recompute or blend_anchors beside `kv_reuse: exact`
// is an error at that key (they apply to blend only).
void check_kv_reuse(YamlReader& r, const YamlEntries& e, const std::string& what,
                    const KvReuseSpec& spec);

}  // namespace agentrt::workflows
