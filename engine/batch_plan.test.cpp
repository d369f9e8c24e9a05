// check_batch_plan: the checks every backend runs before a step, and pending tokens
// (overlapped steps) allowed only for rows the step before sampled.
#include "engine/batch_plan.h"

#include <gtest/gtest.h>

namespace agentrt {
namespace {

BatchPlan one(std::vector<std::int32_t> tokens, std::int32_t start = 0) {
  BatchPlan p;
  p.seqs.push_back({std::move(tokens), start, {0, 1}, false});
  return p;
}

Status check(const BatchPlan& p, int pending_rows = 0) {
  return check_batch_plan(p, 4, 16, 100, 64, pending_rows);
}

TEST(BatchPlan, NamesTheBadPart) {
  EXPECT_TRUE(check(one({1, 2, 3})).ok());
  EXPECT_FALSE(check(BatchPlan{}).ok());
  auto bad = check(one({1, 100}));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("seq 0: token 1 = 100 is outside the vocabulary [0, 100)"),
            std::string::npos)
      << bad.error().message;
  EXPECT_FALSE(check(one({1}, 40)).ok());  // the table covers 32 positions
  EXPECT_FALSE(check(one({1}, 70)).ok());  // past the context
}

TEST(BatchPlan, PendingTokensNeedARowOfTheStepBefore) {
  EXPECT_EQ(pending_row(pending_token(0)), 0);
  EXPECT_EQ(pending_row(pending_token(7)), 7);
  EXPECT_LT(pending_token(0), 0);
  const BatchPlan p = one({5, pending_token(2)});
  EXPECT_TRUE(check(p, 3).ok());
  auto no_step = check(p, 0);  // forward(): no sampling before it to read from
  ASSERT_FALSE(no_step.ok());
  EXPECT_NE(no_step.error().message.find("outside the vocabulary"), std::string::npos);
  auto short_step = check(p, 2);
  ASSERT_FALSE(short_step.ok());
  EXPECT_NE(short_step.error().message.find("names row 2 of the previous launch, which samples 2"),
            std::string::npos)
      << short_step.error().message;
}

}  // namespace
}  // namespace agentrt
