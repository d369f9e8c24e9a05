#include "actors/workflow/reuse_plan.h"

#include <gtest/gtest.h>

namespace agentrt::actors::workflow {
namespace {

using Deps = std::vector<std::vector<workflows::StepEdge>>;

Deps chain_and_fan() {
  // 0 -> 1 -> 3, 0 -> 2 -> 3, 3 -> 4; 5 alone.
  Deps d(6);
  d[1] = {{0, {}}};
  d[2] = {{0, {}}};
  d[3] = {{1, {}}, {2, {}}};
  d[4] = {{3, {}}};
  return d;
}

TEST(ReusePlan, DistanceIsTheLongestUnfinishedPathToTheStep) {
  using S = StepState;
  const auto d = steps_to_next_use(
      chain_and_fan(), {S::running, S::waiting, S::waiting, S::waiting, S::waiting, S::waiting});
  EXPECT_EQ(d, (std::vector<int>{0, 1, 1, 2, 3, 0}));
}

TEST(ReusePlan, FinishedStepsNeedNothingAndBringTheirDependentsCloser) {
  using S = StepState;
  const auto d = steps_to_next_use(chain_and_fan(),
                                   {S::done, S::done, S::running, S::waiting, S::waiting, S::done});
  EXPECT_EQ(d, (std::vector<int>{kNoNextUse, kNoNextUse, 0, 1, 2, kNoNextUse}));
}

TEST(ReusePlan, AFailedDependencyMeansTheStepNeverRuns) {
  using S = StepState;
  const auto d = steps_to_next_use(
      chain_and_fan(), {S::done, S::failed, S::running, S::waiting, S::waiting, S::skipped});
  EXPECT_EQ(d, (std::vector<int>{kNoNextUse, kNoNextUse, 0, kNoNextUse, kNoNextUse, kNoNextUse}));
}

}  // namespace
}  // namespace agentrt::actors::workflow
