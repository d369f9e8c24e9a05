// Diagnostics: the located errors that loading and validating a workflow report, all of
// them at once. Each prints as "file:line:col: message" (1-based, from yaml-cpp's marks).
#pragma once

#include <string>
#include <vector>

namespace agentrt::workflows {

// A place in the workflow file; line 0 means "no place" (e.g. a --input given on the CLI).
struct SourceLoc {
  int line = 0;
  int col = 0;
  bool known() const { return line > 0; }
};

struct Diagnostic {
  SourceLoc loc;
  std::string message;
};

class Diagnostics {
 public:
  explicit Diagnostics(std::string file = "workflow.yaml") : file_(std::move(file)) {}

  void error(SourceLoc loc, std::string message) { items_.push_back({loc, std::move(message)}); }
  bool empty() const { return items_.empty(); }
  std::size_t size() const { return items_.size(); }
  const std::vector<Diagnostic>& items() const { return items_; }
  const std::string& file() const { return file_; }

  // "wf.yaml:14:7: step 'check' depends on unknown step 'solv'" (or "wf.yaml: ..." unplaced).
  std::string format(const Diagnostic& d) const;
  // Every diagnostic, sorted by place, one per line.
  std::string to_string() const;

 private:
  std::string file_;
  std::vector<Diagnostic> items_;
};

}  // namespace agentrt::workflows
