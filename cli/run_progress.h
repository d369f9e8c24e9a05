// Progress display for `agentrt run`: on a terminal, a live table of steps (state, tokens,
// tool calls, elapsed, and a bar for best-of-N) redrawn in place on stderr; otherwise plain
// timestamped lines, one per event.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "actors/workflow/workflow_runner.h"

namespace agentrt::cli {

class RunProgress {
 public:
  // `live`: redraw a table (a terminal); otherwise print event lines. `quiet`: neither.
  RunProgress(actors::workflow::WorkflowRunner& runner, bool live, bool quiet);
  ~RunProgress();

  // The runner's event sink (plain lines); thread-safe.
  void on_event(const std::string& step, const std::string& line);
  // Stops the redraw thread and draws the final table once.
  void finish();

 private:
  void draw();
  std::string row(const actors::workflow::StepStatus& s) const;

  actors::workflow::WorkflowRunner& runner_;
  const bool live_;
  const bool quiet_;
  const std::chrono::steady_clock::time_point t0_ = std::chrono::steady_clock::now();
  std::mutex mu_;  // serializes writes to stderr
  int drawn_lines_ = 0;
  std::atomic<bool> done_{false};
  std::thread redraw_;
};

}  // namespace agentrt::cli
