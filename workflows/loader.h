// Loading a workflow: YAML text -> Workflow, reporting every schema problem (syntax, unknown
// keys, wrong types, bad values, bad regexes and template syntax) with file:line:col.
// Cross-references (agents, tools, steps, template paths, cycles) are the validator's.
// Never throws; any input, however malformed, yields diagnostics.
#pragma once

#include <string>
#include <string_view>

#include "engine/common/file_read.h"
#include "workflows/diagnostic.h"
#include "workflows/workflow.h"

namespace agentrt::workflows {

struct LoadResult {
  Workflow workflow;  // as much as could be read; use it only when diagnostics are empty
  Diagnostics diagnostics;
  // The YAML parsed and the loader read all of it (possibly with schema errors): only then
  // is validating `workflow` meaningful.
  bool parsed = false;
  bool ok() const { return diagnostics.empty(); }
};

// Loads from text; `file` names it in messages and anchors relative model paths.
LoadResult load_workflow(std::string_view yaml, const std::string& file);
// Reads the file first with read_file_bounded: a missing file, a FIFO or device (never
// opened), a symlink loop or a file over kMaxWorkflowBytes is one diagnostic naming it.
LoadResult load_workflow_file(const std::string& path);
// Loads and validates (validator.h): the one call the CLI makes.
LoadResult check_workflow_file(const std::string& path);

// YAML nesting: yaml-cpp 0.7 guards its recursive parser with a depth limit of 500 nodes
// (DepthGuard<500>); deeper text is one diagnostic. The loader itself recurses only into a
// custom tool's `schema`, at most kMaxToolSchemaDepth levels (tool_loader.h).
inline constexpr int kMaxYamlDepth = 500;
// Inputs larger than this are refused before parsing (one cap for text and files).
inline constexpr std::size_t kMaxWorkflowBytes = kMaxWorkflowFileBytes;

}  // namespace agentrt::workflows
