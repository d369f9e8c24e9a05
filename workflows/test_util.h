// Test helpers for workflows/: load + validate a YAML string and list the diagnostics as
// "line:col: message".
#pragma once

#include <string>
#include <vector>

#include "workflows/loader.h"
#include "workflows/validator.h"

namespace agentrt::workflows::testing {

inline std::vector<std::string> errors_of(const std::string& yaml) {
  LoadResult r = load_workflow(yaml, "wf.yaml");
  if (r.parsed) validate_workflow(r.workflow, r.diagnostics);
  std::vector<std::string> out;
  for (const auto& d : r.diagnostics.items())
    out.push_back(std::to_string(d.loc.line) + ":" + std::to_string(d.loc.col) + ": " + d.message);
  return out;
}

// Whether some diagnostic starts with "line:col: " and contains `text`.
inline bool has_error(const std::vector<std::string>& errs, const std::string& place,
                      const std::string& text) {
  for (const auto& e : errs)
    if (e.rfind(place + ": ", 0) == 0 && e.find(text) != std::string::npos) return true;
  return false;
}

inline std::string dump(const std::vector<std::string>& errs) {
  std::string s;
  for (const auto& e : errs)
    s += e + "\n";
  return s;
}

}  // namespace agentrt::workflows::testing
