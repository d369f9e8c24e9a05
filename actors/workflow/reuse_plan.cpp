#include "actors/workflow/reuse_plan.h"

#include <algorithm>
#include <cstddef>

namespace agentrt::actors::workflow {
namespace {

constexpr int kUnknown = -2;

int distance(std::size_t i, const std::vector<std::vector<workflows::StepEdge>>& deps,
             const std::vector<StepState>& states, std::vector<int>& memo) {
  if (memo[i] != kUnknown) return memo[i];
  int d = kNoNextUse;
  if (states[i] == StepState::running) {
    d = 0;
  } else if (states[i] == StepState::waiting) {
    d = 0;
    for (const auto& e : deps[i]) {
      const auto from = static_cast<std::size_t>(e.from);
      const StepState s = states[from];
      if (s == StepState::done) continue;
      if (is_over(s)) {  // failed, cancelled or skipped: this step will not run
        d = kNoNextUse;
        break;
      }
      const int before = distance(from, deps, states, memo);
      if (before == kNoNextUse) {
        d = kNoNextUse;
        break;
      }
      d = std::max(d, before + 1);
    }
  }
  memo[i] = d;
  return d;
}

}  // namespace

std::vector<int> steps_to_next_use(const std::vector<std::vector<workflows::StepEdge>>& deps,
                                   const std::vector<StepState>& states) {
  std::vector<int> memo(states.size(), kUnknown);
  for (std::size_t i = 0; i < states.size(); ++i)
    distance(i, deps, states, memo);
  return memo;
}

}  // namespace agentrt::actors::workflow
