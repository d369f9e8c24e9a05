#include "engine/sampling/constraint_cursor.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "engine/sampling/sampler.h"

namespace agentrt::sampling {
namespace {

// Tokens 0..8 must strictly increase; token 9 ends the output once it holds 3 tokens.
class Increasing final : public Constraint {
 public:
  class State final : public ConstraintState {
   public:
    void allowed(TokenMask& mask) const override {
      if (ended) return mask.set(9);
      for (int t = last + 1; t < 9; ++t)
        mask.set(t);
      if (complete()) mask.set(9);
    }
    bool accept(std::int32_t token) override {
      if (ended) return false;
      if (token == 9) {
        if (!complete()) return false;
        ended = true;
        return true;
      }
      if (token <= last || token > 8) return false;
      last = token;
      ++count;
      return true;
    }
    bool complete() const override { return ended || count >= 3; }
    std::unique_ptr<ConstraintState> clone() const override {
      return std::make_unique<State>(*this);
    }
    int last = -1;
    int count = 0;
    bool ended = false;
  };
  std::unique_ptr<ConstraintState> start() const override { return std::make_unique<State>(); }
  std::span<const std::int32_t> end_tokens() const override { return ends_; }

 private:
  std::vector<std::int32_t> ends_{9};
};

SamplingParams constrained(float temperature) {
  SamplingParams p;
  p.temperature = temperature;
  p.constraint = std::make_shared<Increasing>();
  return p;
}

TEST(ConstraintCursor, GreedyTakesTheBestAllowedToken) {
  Sampler s(constrained(0.0f), 1);
  // Token 5 is best, but after 6 only 7 and 8 are allowed.
  const std::vector<float> logits = {0, 0, 0, 0, 0, 9, 1, 2, 3, 0};
  std::vector<std::int32_t> out = {6};
  EXPECT_EQ(s.sample(logits, {}, out).token, 8);
}

TEST(ConstraintCursor, SampledTokensAlwaysFollowTheConstraint) {
  for (std::uint64_t seed = 0; seed < 50; ++seed) {
    Sampler s(constrained(1.0f), seed);
    std::vector<std::int32_t> out;
    const std::vector<float> flat(12, 0.0f);  // rows past the constraint's ids are masked
    for (int step = 0; step < 20; ++step) {
      const auto tok = s.sample(flat, {}, out).token;
      if (tok == 9) break;
      ASSERT_LT(tok, 9);
      if (!out.empty()) {
        ASSERT_GT(tok, out.back());
      }
      out.push_back(tok);
    }
    // Ended when complete, or at a dead end (8 reached early: the end token is forced).
    ASSERT_FALSE(out.empty());
    EXPECT_TRUE(out.size() >= 3u || out.back() == 8) << out.size();
  }
}

TEST(ConstraintCursor, LogprobsStayThoseOfTheRawLogits) {
  SamplingParams p = constrained(0.0f);
  p.logprobs = 0;
  Sampler s(p, 1);
  const std::vector<float> logits(10, 0.0f);
  const auto tok = s.sample(logits, {}, {});
  EXPECT_NEAR(tok.logprob, -std::log(10.0f), 1e-5);
}

TEST(ConstraintCursor, CopiesContinueFromTheirOwnPosition) {
  Sampler parent(constrained(0.0f), 1);
  const std::vector<float> logits = {5, 4, 3, 2, 1, 0, 0, 0, 0, 0};
  std::vector<std::int32_t> out;
  out.push_back(parent.sample(logits, {}, out).token);  // 0
  Sampler fork = parent;
  out.push_back(fork.sample(logits, {}, out).token);  // 1
  EXPECT_EQ(out, (std::vector<std::int32_t>{0, 1}));
  // A fresh sampler replays the output so far.
  Sampler fresh(constrained(0.0f), 1);
  EXPECT_EQ(fresh.sample(logits, {}, out).token, 2);
}

TEST(ConstraintCursor, ANewTurnRestartsTheConstraint) {
  Sampler s(constrained(0.0f), 1);
  const std::vector<float> logits = {0, 0, 0, 0, 0, 0, 0, 0, 1, 0};
  std::vector<std::int32_t> out = {8};
  EXPECT_NE(s.sample(logits, {}, out).token, 8);  // nothing above 8: no valid continuation
  out.clear();                                    // the next turn's output starts empty
  EXPECT_EQ(s.sample(logits, {}, out).token, 8);
}

TEST(ConstraintCursor, DeadEndsAndBrokenOutputsEmitTheEndToken) {
  Sampler s(constrained(0.0f), 1);
  const std::vector<float> logits = {0, 0, 0, 0, 0, 0, 0, 0, 1, 0};
  // 8 leaves no token (not complete: 9 not allowed): the end token ends the output.
  EXPECT_EQ(s.sample(logits, {}, std::vector<std::int32_t>{8}).token, 9);
  // An output the constraint refuses (2 after 5) is broken: only end tokens from then on.
  Sampler t(constrained(0.0f), 1);
  EXPECT_EQ(t.sample(logits, {}, std::vector<std::int32_t>{5, 2}).token, 9);
  ConstraintCursor c(std::make_shared<Increasing>());
  c.sync(std::vector<std::int32_t>{5, 2});
  EXPECT_TRUE(c.broken());
}

TEST(ConstraintCursor, StopTokenIdsCountAsEndTokensOnceComplete) {
  ConstraintCursor c(std::make_shared<Increasing>());
  std::vector<float> logits(12, 0.0f);
  const std::vector<std::int32_t> stop = {11};
  c.sync(std::vector<std::int32_t>{1});
  ASSERT_TRUE(c.mask_logits(logits, stop));
  EXPECT_TRUE(std::isinf(logits[11]));
  c.sync(std::vector<std::int32_t>{1, 2, 3});
  logits.assign(12, 0.0f);
  ASSERT_TRUE(c.mask_logits(logits, stop));
  EXPECT_EQ(logits[11], 0.0f);
  EXPECT_EQ(logits[9], 0.0f);
  EXPECT_TRUE(std::isinf(logits[0]));
}

}  // namespace
}  // namespace agentrt::sampling
