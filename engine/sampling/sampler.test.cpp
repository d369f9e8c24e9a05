#include "engine/sampling/sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace agentrt::sampling {
namespace {

std::vector<double> softmax(const std::vector<float>& logits, double temperature = 1.0) {
  double mx = logits[0];
  for (float l : logits)
    mx = std::max(mx, static_cast<double>(l));
  std::vector<double> p;
  double sum = 0.0;
  for (float l : logits) {
    p.push_back(std::exp((l - mx) / temperature));
    sum += p.back();
  }
  for (double& x : p)
    x /= sum;
  return p;
}

std::vector<double> frequencies(const SamplingParams& params, const std::vector<float>& logits,
                                int draws = 20000) {
  Sampler sampler(params, 1234);
  std::vector<double> freq(logits.size(), 0.0);
  for (int i = 0; i < draws; ++i)
    freq[static_cast<std::size_t>(sampler.sample(logits, {}, {}).token)] += 1.0;
  for (double& f : freq)
    f /= draws;
  return freq;
}

void expect_close(const std::vector<double>& got, const std::vector<double>& want, double tol) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i], tol) << "token " << i;
}

TEST(Sampler, GreedyPicksLowestIdOnTies) {
  SamplingParams p;
  p.temperature = 0.0f;
  Sampler s(p, 0);
  std::vector<float> logits{0.5f, 2.0f, 1.0f, 2.0f};
  EXPECT_EQ(s.sample(logits, {}, {}).token, 1);
}

TEST(Sampler, FrequenciesMatchSoftmax) {
  const std::vector<float> logits{1.0f, 2.0f, 0.5f, 3.0f, -1.0f};
  SamplingParams p;
  expect_close(frequencies(p, logits), softmax(logits), 0.012);
  p.temperature = 0.5f;
  expect_close(frequencies(p, logits), softmax(logits, 0.5), 0.012);
}

TEST(Sampler, TopKRenormalizesOverTheBestK) {
  const std::vector<float> logits{1.0f, 2.0f, 0.5f, 3.0f, -1.0f};
  SamplingParams p;
  p.top_k = 2;
  const auto freq = frequencies(p, logits);
  const double z = std::exp(2.0) + std::exp(3.0);
  expect_close(freq, {0.0, std::exp(2.0) / z, 0.0, std::exp(3.0) / z, 0.0}, 0.012);
  EXPECT_EQ(freq[0] + freq[2] + freq[4], 0.0);
}

TEST(Sampler, TopPKeepsTheSmallestNucleus) {
  const std::vector<float> logits{std::log(0.5f), std::log(0.3f), std::log(0.15f), std::log(0.05f)};
  SamplingParams p;
  p.top_p = 0.79f;
  auto freq = frequencies(p, logits);
  expect_close(freq, {0.625, 0.375, 0.0, 0.0}, 0.012);
  EXPECT_EQ(freq[2] + freq[3], 0.0);
  p.top_p = 0.81f;
  freq = frequencies(p, logits);
  EXPECT_GT(freq[2], 0.1);
  EXPECT_EQ(freq[3], 0.0);
  p.top_p = 0.01f;  // always at least one token
  freq = frequencies(p, logits, 1000);
  EXPECT_EQ(freq[0], 1.0);
}

TEST(Sampler, MinPDropsUnlikelyTokens) {
  const std::vector<float> logits{std::log(0.5f), std::log(0.3f), std::log(0.15f), std::log(0.05f)};
  SamplingParams p;
  p.min_p = 0.2f;  // keeps p >= 0.1
  const auto freq = frequencies(p, logits);
  EXPECT_EQ(freq[3], 0.0);
  expect_close(freq, {0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0.0}, 0.012);
}

TEST(Sampler, CombinedFiltersNeverPickExcludedTokens) {
  std::vector<float> logits(1000);
  for (std::size_t i = 0; i < logits.size(); ++i)
    logits[i] = std::sin(static_cast<float>(i)) * 4;
  SamplingParams p;
  p.top_k = 50;
  p.top_p = 0.9f;
  p.min_p = 0.05f;
  std::vector<std::int32_t> order(logits.size());
  for (std::size_t i = 0; i < order.size(); ++i)
    order[i] = static_cast<std::int32_t>(i);
  std::sort(order.begin(), order.end(), [&](auto a, auto b) { return logits[a] > logits[b]; });
  Sampler s(p, 7);
  for (int i = 0; i < 2000; ++i) {
    const auto t = s.sample(logits, {}, {}).token;
    const auto rank = std::find(order.begin(), order.end(), t) - order.begin();
    EXPECT_LT(rank, 50);
    EXPECT_GE(logits[t], logits[order[0]] + std::log(0.05f) - 1e-5f);
  }
}

TEST(Sampler, RepetitionPenaltyDividesPositiveAndMultipliesNegative) {
  SamplingParams p;
  p.temperature = 0.0f;
  p.repetition_penalty = 2.0f;
  Sampler s(p, 0);
  const std::vector<std::int32_t> prompt{0, 0};
  EXPECT_EQ(s.sample(std::vector<float>{2.0f, 1.5f}, prompt, {}).token, 1);    // 2 -> 1
  EXPECT_EQ(s.sample(std::vector<float>{-1.0f, -1.5f}, prompt, {}).token, 1);  // -1 -> -2
  const std::vector<std::int32_t> output{1};
  EXPECT_EQ(s.sample(std::vector<float>{1.5f, 2.0f}, {}, output).token, 0);  // 2 -> 1
}

TEST(Sampler, PresenceAndFrequencyPenaltiesCountOutputTokens) {
  SamplingParams p;
  p.temperature = 0.0f;
  p.presence_penalty = 0.6f;
  const std::vector<float> logits{1.0f, 0.5f};
  const std::vector<std::int32_t> one{0};
  const std::vector<std::int32_t> two{0, 0};
  EXPECT_EQ(Sampler(p, 0).sample(logits, one, {}).token, 0);  // prompt is not penalized
  EXPECT_EQ(Sampler(p, 0).sample(logits, {}, one).token, 1);
  p.presence_penalty = 0.0f;
  p.frequency_penalty = 0.3f;
  EXPECT_EQ(Sampler(p, 0).sample(logits, {}, one).token, 0);  // 0.7
  EXPECT_EQ(Sampler(p, 0).sample(logits, {}, two).token, 1);  // 0.4
}

TEST(Sampler, SameSeedSameTokens) {
  std::vector<float> logits(5000);
  for (std::size_t i = 0; i < logits.size(); ++i)
    logits[i] = std::cos(static_cast<float>(i) * 0.37f);
  SamplingParams p;
  p.seed = 42;
  p.top_p = 0.95f;
  Sampler a(p, 1), b(p, 2);
  SamplingParams q = p;
  q.seed = 43;
  Sampler c(q, 1);
  int differ = 0;
  for (int i = 0; i < 100; ++i) {
    const auto ta = a.sample(logits, {}, {}).token;
    EXPECT_EQ(ta, b.sample(logits, {}, {}).token);
    differ += ta != c.sample(logits, {}, {}).token;
  }
  EXPECT_GT(differ, 50);
}

TEST(Sampler, LogprobsComeFromTheRawDistribution) {
  const std::vector<float> logits{1.0f, 3.0f, 2.0f, 3.0f};
  SamplingParams p;
  p.temperature = 0.0f;
  p.repetition_penalty = 10.0f;  // changes the choice, not the reported logprobs
  p.logprobs = 3;
  Sampler s(p, 0);
  const std::vector<std::int32_t> prompt{1, 3};
  const auto r = s.sample(logits, prompt, {});
  const auto probs = softmax(logits);
  EXPECT_EQ(r.token, 2);
  EXPECT_NEAR(r.logprob, std::log(probs[2]), 1e-6);
  ASSERT_EQ(r.top.size(), 3u);
  EXPECT_EQ(r.top[0].token, 1);
  EXPECT_EQ(r.top[1].token, 3);
  EXPECT_EQ(r.top[2].token, 2);
  EXPECT_NEAR(r.top[0].logprob, std::log(probs[1]), 1e-6);
  p.logprobs = -1;
  EXPECT_TRUE(Sampler(p, 0).sample(logits, prompt, {}).top.empty());
}

TEST(Sampler, LargeVocabNucleus) {
  std::vector<float> logits(150000, 0.0f);
  logits[77] = 30.0f;
  SamplingParams p;
  p.top_p = 0.5f;
  Sampler s(p, 3);
  EXPECT_EQ(s.sample(logits, {}, {}).token, 77);
  p.top_p = 1.0f;
  p.top_k = 1;
  EXPECT_EQ(Sampler(p, 3).sample(logits, {}, {}).token, 77);
}

TEST(SamplingParams, ValidateNamesTheField) {
  SamplingParams p;
  EXPECT_TRUE(p.validate().ok());
  p.top_p = 1.5f;
  const auto st = p.validate();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("top_p"), std::string::npos);
  p = {};
  p.temperature = -1.0f;
  EXPECT_FALSE(p.validate().ok());
  p = {};
  p.max_tokens = 0;
  EXPECT_FALSE(p.validate().ok());
  p = {};
  p.stop_strings = {""};
  EXPECT_FALSE(p.validate().ok());
  p = {};
  p.repetition_penalty = 0.0f;
  EXPECT_FALSE(p.validate().ok());
}

}  // namespace
}  // namespace agentrt::sampling

namespace agentrt::sampling {
namespace {

// Dividing by a tiny or subnormal temperature overflows every logit to +-inf; such
// temperatures must sample greedily, never the last id.
TEST(Sampler, TinyTemperaturesAreGreedy) {
  const std::vector<float> logits{0.5f, 3.0f, 1.0f, -2.0f, 2.5f};
  for (float t : {1e-38f, 1e-45f, 1e-30f, 1e-6f, 9.9e-6f}) {
    SamplingParams p;
    p.temperature = t;
    ASSERT_TRUE(p.validate().ok());
    EXPECT_TRUE(p.greedy()) << t;
    Sampler s(p, 7);
    for (int i = 0; i < 20; ++i)
      EXPECT_EQ(s.sample(logits, {}, {}).token, 1) << "temperature " << t;
  }
  SamplingParams p;
  p.temperature = kGreedyTemperature;
  EXPECT_FALSE(p.greedy());
}

TEST(SamplingParams, RejectsNonFiniteAndNegativeValues) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  auto rejects = [](SamplingParams p, const char* field) {
    const auto st = p.validate();
    ASSERT_FALSE(st.ok()) << field;
    EXPECT_EQ(st.error().message.rfind(field, 0), 0u) << st.error().message;
  };
  for (float v : {nan, inf, -inf, -1e-38f}) {
    SamplingParams p;
    p.temperature = v;
    rejects(p, "temperature");
    p = {};
    p.top_p = v;
    rejects(p, "top_p");
    p = {};
    p.min_p = v;
    rejects(p, "min_p");
    p = {};
    p.repetition_penalty = v;
    rejects(p, "repetition_penalty");
  }
  for (float v : {nan, inf, -inf}) {
    SamplingParams p;
    p.presence_penalty = v;
    rejects(p, "presence_penalty");
    p = {};
    p.frequency_penalty = v;
    rejects(p, "frequency_penalty");
  }
  SamplingParams p;
  p.temperature = -1e-38f;
  EXPECT_NE(p.validate().error().message.find("got -1e-38"), std::string::npos)
      << p.validate().error().message;
}

TEST(SamplingParams, CapsStopStringsAndIds) {
  SamplingParams p;
  p.stop_strings.assign(kMaxStopStrings, "x");
  p.stop_token_ids.assign(kMaxStopTokenIds, 5);
  EXPECT_TRUE(p.validate().ok());
  p.stop_strings.push_back("y");
  auto st = p.validate();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message, "stop_strings: must be at most 64 strings, got 65");
  p.stop_strings = {std::string(kMaxStopStringBytes, 'a')};
  EXPECT_TRUE(p.validate().ok());
  p.stop_strings.push_back(std::string(kMaxStopStringBytes + 1, 'a'));
  st = p.validate();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message, "stop_strings/1: must be at most 1024 bytes, got 1025");
  p.stop_strings.clear();
  p.stop_token_ids.push_back(1);
  st = p.validate();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message, "stop_token_ids: must be at most 1024 ids, got 1025");
}

TEST(Sampler, CheckLogitsNamesTheStepAndToken) {
  std::vector<float> row{0.0f, 1.0f, 2.0f};
  EXPECT_EQ(first_non_finite(row), -1);
  EXPECT_FALSE(check_logits(row, 4).has_value());
  row[1] = -std::numeric_limits<float>::infinity();
  EXPECT_EQ(first_non_finite(row), 1);
  EXPECT_EQ(check_logits(row, 4), "non-finite logits at step 4 (token 1: -inf)");
  row[0] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(check_logits(row, 0), "non-finite logits at step 0 (token 0: nan)");
}

}  // namespace
}  // namespace agentrt::sampling
