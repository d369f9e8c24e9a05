// GPU sampling against engine/sampling semantics: greedy rows exactly equal Sampler's token;
// sampled rows follow the distribution Sampler draws from (top-k, top-p, min-p and
// temperature computed on the host as sampler.cpp does), checked per token within 5 sigma
// over 40000 draws, never outside the kept set, with up to 32 rejections and with none
// (the first rejected draw takes the exact cut);
// long rows reach every part of a thread's elements; (seed, step) repeats.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <numeric>
#include <random>
#include <string>

#include "engine/sampling/sampler.h"
#include "kernels/sampling.h"
#include "kernels/test_util.h"

namespace agentrt::kernels {
namespace {

class GpuSampling : public ::testing::Test {
 protected:
  void SetUp() override { AGENTRT_REQUIRE_CUDA_DEVICE(); }

 public:
  std::vector<std::int32_t> run(const std::vector<float>& logits, int vocab,
                                const std::vector<SampleParams>& params,
                                int max_rejections = kSampleMaxRejections) {
    auto d_logits = test::upload(logits, Dtype::f32);
    auto d_params = test::upload_raw(params);
    DeviceBuffer d_out;
    EXPECT_TRUE(d_out.allocate(params.size() * 4).ok());
    EXPECT_EQ(launch_sample(d_logits.get<float>(), static_cast<int>(params.size()), vocab,
                            d_params.get<SampleParams>(), d_out.get<std::int32_t>(), nullptr,
                            nullptr, max_rejections),
              cudaSuccess);
    std::vector<std::int32_t> out(params.size());
    EXPECT_EQ(cudaMemcpy(out.data(), d_out.get(), out.size() * 4, cudaMemcpyDeviceToHost),
              cudaSuccess);
    return out;
  }
};

// The distribution sampler.cpp draws from, in double precision.
std::vector<double> reference_distribution(const std::vector<float>& logits,
                                           const SampleParams& p) {
  const int n = static_cast<int>(logits.size());
  std::vector<double> w(n);
  for (int i = 0; i < n; ++i)
    w[i] = logits[i] / p.temperature;
  std::vector<int> ids(n);
  std::iota(ids.begin(), ids.end(), 0);
  std::sort(ids.begin(), ids.end(),
            [&](int a, int b) { return w[a] > w[b] || (w[a] == w[b] && a < b); });
  if (p.top_k > 0 && p.top_k < n) ids.resize(p.top_k);
  const double mx = w[ids[0]];
  if (p.top_p < 1.0f) {
    double total = 0, cum = 0;
    for (int t : ids)
      total += std::exp(w[t] - mx);
    for (std::size_t i = 0; i < ids.size(); ++i) {
      cum += std::exp(w[ids[i]] - mx);
      if (cum >= p.top_p * total) {
        ids.resize(i + 1);
        break;
      }
    }
  }
  const double floor = p.min_p > 0 ? mx + std::log(double(p.min_p)) : -INFINITY;
  std::vector<double> prob(n, 0.0);
  double total = 0;
  for (int t : ids)
    if (w[t] >= floor) total += (prob[t] = std::exp(w[t] - mx));
  for (auto& v : prob)
    v /= total;
  return prob;
}

TEST_F(GpuSampling, GreedyEqualsSamplerArgmaxWithTies) {
  const int vocab = 151936, rows = 32;
  auto logits = test::random_vector(std::size_t(vocab) * rows, 1, -10.0f, 10.0f);
  for (int r = 0; r < rows; r += 3) {  // planted ties at the maximum: lowest id wins
    logits[std::size_t(r) * vocab + 5000 + r] = 20.0f;
    logits[std::size_t(r) * vocab + 90000] = 20.0f;
  }
  std::vector<SampleParams> params(rows);
  for (auto& p : params)
    p.temperature = 0.0f;
  auto got = run(logits, vocab, params);
  sampling::SamplingParams sp;
  sp.temperature = 0;
  for (int r = 0; r < rows; ++r) {
    sampling::Sampler s(sp, 0);
    auto row = std::span<const float>(logits.data() + std::size_t(r) * vocab, vocab);
    EXPECT_EQ(got[r], s.sample(row, {}, {}).token) << "row " << r;
  }
}

// Draws `draws` rows of `base` under `p` (seeds 1000, 1001, ...) and checks each token's
// share against reference_distribution() within 5 sigma, and that no token outside the kept
// set comes out.
void expect_draws_follow(GpuSampling& t, const std::vector<float>& base, const SampleParams& p,
                         int draws, int rejections, const std::string& name) {
  const int vocab = static_cast<int>(base.size());
  std::vector<float> logits;
  std::vector<SampleParams> params;
  for (int d = 0; d < draws; ++d) {
    logits.insert(logits.end(), base.begin(), base.end());
    params.push_back(p);
    params.back().seed = 1000 + d;  // a row per draw
  }
  const auto got = t.run(logits, vocab, params, rejections);
  const auto prob = reference_distribution(base, p);
  std::vector<int> count(vocab, 0);
  for (int tok : got) {
    ASSERT_GE(tok, 0) << name;
    ASSERT_LT(tok, vocab) << name;
    ++count[tok];
  }
  const std::string what = name + ", at most " + std::to_string(rejections) + " rejections";
  double worst = 0;
  for (int tok = 0; tok < vocab; ++tok) {
    if (prob[tok] == 0.0) {
      EXPECT_EQ(count[tok], 0) << what << ": token " << tok << " is outside the kept set";
      continue;
    }
    const double sigma = std::sqrt(prob[tok] * (1 - prob[tok]) / draws);
    worst = std::max(worst, std::fabs(count[tok] / double(draws) - prob[tok]) / sigma);
  }
  std::cout << "[sampling] " << what << ": worst |z| over tokens " << worst << "\n";
  EXPECT_LT(worst, 5.0) << what;
}

// Vocabularies of 96 (rows read 4 floats at a time) and 97 (one at a time).
class GpuSamplingVocab : public GpuSampling, public ::testing::WithParamInterface<int> {};
INSTANTIATE_TEST_SUITE_P(Widths, GpuSamplingVocab, ::testing::Values(96, 97));

TEST_P(GpuSamplingVocab, DrawsFollowSamplerDistribution) {
  const auto base = test::random_vector(GetParam(), 2, -3.0f, 3.0f);
  struct Case {
    const char* name;
    SampleParams p;
  };
  const Case cases[] = {
      {"temperature 0.7", {0.7f, 0, 1.0f, 0.0f, 0, 0}},
      {"top_k 10", {1.0f, 10, 1.0f, 0.0f, 0, 0}},
      {"top_p 0.8", {1.0f, 0, 0.8f, 0.0f, 0, 0}},
      {"min_p 0.1, T 1.3", {1.3f, 0, 1.0f, 0.1f, 0, 0}},
      {"top_k 20 + top_p 0.9 + min_p 0.05, T 0.9", {0.9f, 20, 0.9f, 0.05f, 0, 0}},
      {"top_p 0.1 (rounds of rejection)", {1.0f, 0, 0.1f, 0.0f, 0, 0}},
      {"top_k 2 + min_p 0.2", {1.0f, 2, 1.0f, 0.2f, 0, 0}},
  };
  // Each case with up to 32 rejections (the default), and with none: the first rejected draw
  // then takes the exact radix cut.
  for (const int rejections : {kSampleMaxRejections, 0})
    for (const Case& c : cases)
      expect_draws_follow(*this, base, c.p, 40000, rejections, c.name);
}

// Rows with fewer finite logits than top_k (a grammar's mask): only finite tokens come out.
TEST_P(GpuSamplingVocab, TopKOverMaskedRowsKeepsTheFiniteTokens) {
  auto base = test::random_vector(GetParam(), 5, -3.0f, 3.0f);
  for (std::size_t i = 0; i < base.size(); ++i)
    if (i % 16 != 3) base[i] = -INFINITY;  // 6 finite tokens
  expect_draws_follow(*this, base, {1.0f, 10, 1.0f, 0.0f, 0, 0}, 20000, kSampleMaxRejections,
                      "top_k 10 over 6 finite");
  expect_draws_follow(*this, base, {1.0f, 10, 0.7f, 0.0f, 0, 0}, 20000, kSampleMaxRejections,
                      "top_k 10 + top_p 0.7 over 6 finite");
}

// top_k above 1,024 (the gathered top-k set's bound) takes the radix select or rejection.
TEST_F(GpuSampling, LargeTopKFollowsSamplerDistribution) {
  const auto base = test::random_vector(2000, 6, -2.0f, 2.0f);
  for (const int rejections : {kSampleMaxRejections, 0}) {
    expect_draws_follow(*this, base, {1.0f, 1100, 1.0f, 0.0f, 0, 0}, 20000, rejections,
                        "top_k 1100");
    expect_draws_follow(*this, base, {1.0f, 1100, 0.6f, 0.0f, 0, 0}, 20000, rejections,
                        "top_k 1100 + top_p 0.6");
  }
}

// Logits crowded within 0.2 of each other over a long row: the top-k bracket narrows over
// several counting passes before its elements fit in shared memory.
TEST_F(GpuSampling, TopKNarrowsCrowdedLongRows) {
  const auto base = test::random_vector(96 * 1024, 7, -0.1f, 0.1f);
  expect_draws_follow(*this, base, {1.0f, 5, 1.0f, 0.0f, 0, 0}, 1000, kSampleMaxRejections,
                      "top_k 5 over a crowded long row");
}

// A long row: the draw walks the chosen thread's elements (every 1024th token) 32 at a time,
// so tokens far into one thread's elements, and in two threads, must come out as often as
// their mass says, with and without a top-p cut.
TEST_P(GpuSamplingVocab, DrawsReachEveryPartOfALongRow) {
  const int vocab = GetParam() * 1024 + GetParam() % 2, draws = 1000;  // 98,304 or 99,329
  std::vector<float> base(vocab, -20.0f);  // about 2e-4 of the mass in all
  const int heavy[] = {5 + 3 * 1024, 5 + 40 * 1024, 5 + 70 * 1024, 6 + 90 * 1024};
  const float heavy_logit[] = {0.0f, -0.5f, -1.0f, -1.5f};
  for (int h = 0; h < 4; ++h)
    base[heavy[h]] = heavy_logit[h];
  for (const float top_p : {1.0f, 0.7f}) {
    const SampleParams p{1.0f, 0, top_p, 0.0f, 0, 0};
    std::vector<float> logits;
    std::vector<SampleParams> params;
    for (int d = 0; d < draws; ++d) {
      logits.insert(logits.end(), base.begin(), base.end());
      params.push_back(p);
      params.back().seed = 500 + d;
    }
    const auto got = run(logits, vocab, params);
    const auto prob = reference_distribution(base, p);
    for (int h = 0; h < 4; ++h) {
      const auto n = std::count(got.begin(), got.end(), heavy[h]);
      const double sigma = std::sqrt(prob[heavy[h]] * (1 - prob[heavy[h]]) / draws);
      if (prob[heavy[h]] == 0.0) {
        EXPECT_EQ(n, 0) << "top_p " << top_p << ", token " << heavy[h];
      } else {
        EXPECT_LT(std::fabs(n / double(draws) - prob[heavy[h]]), 5 * sigma)
            << "top_p " << top_p << ", token " << heavy[h] << ": " << n << " of " << draws;
      }
    }
  }
}

TEST_F(GpuSampling, SeedAndStepRepeat) {
  const int vocab = 5000;
  const auto base = test::random_vector(vocab, 3, -2.0f, 2.0f);
  std::vector<float> logits;
  std::vector<SampleParams> params;
  for (int s = 0; s < 64; ++s) {
    logits.insert(logits.end(), base.begin(), base.end());
    params.push_back({1.0f, 50, 0.95f, 0.0f, 77, static_cast<std::uint64_t>(s)});
  }
  auto a = run(logits, vocab, params), b = run(logits, vocab, params);
  EXPECT_EQ(a, b);
  std::sort(a.begin(), a.end());
  EXPECT_GT(std::unique(a.begin(), a.end()) - a.begin(), 5);  // steps draw different tokens
}

// Logprobs come from the raw logits (before temperature and truncation), as Sampler reports.
TEST_F(GpuSampling, LogprobsAreRawLogSoftmaxOfTheChosenToken) {
  const int vocab = 151936, rows = 6;
  const auto logits = test::random_vector(std::size_t(vocab) * rows, 4, -8.0f, 8.0f);
  std::vector<SampleParams> params;
  for (int r = 0; r < rows; ++r)
    params.push_back({r == 0 ? 0.0f : 0.5f + 0.3f * r, r % 2 ? 40 : 0, 0.9f, 0.0f, 5u + r, 3});
  auto d_logits = test::upload(logits, Dtype::f32);
  auto d_params = test::upload_raw(params);
  DeviceBuffer d_tokens, d_lp;
  ASSERT_TRUE(d_tokens.allocate(rows * 4).ok());
  ASSERT_TRUE(d_lp.allocate(rows * 4).ok());
  ASSERT_EQ(launch_sample(d_logits.get<float>(), rows, vocab, d_params.get<SampleParams>(),
                          d_tokens.get<std::int32_t>(), d_lp.get<float>(), nullptr),
            cudaSuccess);
  std::vector<std::int32_t> tokens(rows);
  std::vector<float> lp(rows);
  ASSERT_EQ(cudaMemcpy(tokens.data(), d_tokens.get(), rows * 4, cudaMemcpyDeviceToHost),
            cudaSuccess);
  ASSERT_EQ(cudaMemcpy(lp.data(), d_lp.get(), rows * 4, cudaMemcpyDeviceToHost), cudaSuccess);
  for (int r = 0; r < rows; ++r) {
    const float* row = logits.data() + std::size_t(r) * vocab;
    const double mx = *std::max_element(row, row + vocab);
    double sum = 0;
    for (int i = 0; i < vocab; ++i)
      sum += std::exp(row[i] - mx);
    const double want = row[tokens[r]] - mx - std::log(sum);
    EXPECT_NEAR(lp[r], want, 1e-4 * std::max(1.0, std::fabs(want))) << "row " << r;
  }
  // Row 0 is greedy: the argmax.
  EXPECT_EQ(tokens[0], std::max_element(logits.begin(), logits.begin() + vocab) - logits.begin());
}

// Structured output: rows with a mask draw only among its tokens (greedy: the best allowed
// one, as Sampler does after masking to -inf); rows without one are untouched.
TEST_F(GpuSampling, TokenMasksRestrictEachRowsDraw) {
  const int vocab = 1000, rows = 4, words = (vocab + 63) / 64;
  std::vector<float> logits(static_cast<std::size_t>(rows) * vocab);
  std::mt19937 rng(7);
  std::normal_distribution<float> d(0.0f, 2.0f);
  for (auto& x : logits)
    x = d(rng);
  // Mask 0: every third id; mask 1: only id 777.
  std::vector<std::uint64_t> masks(2 * static_cast<std::size_t>(words), 0);
  for (int t = 0; t < vocab; t += 3)
    masks[static_cast<std::size_t>(t / 64)] |= 1ull << (t % 64);
  masks[static_cast<std::size_t>(words + 777 / 64)] |= 1ull << (777 % 64);
  std::vector<SampleParams> params(rows);
  params[0].mask = 0;  // greedy, every third id
  params[1].mask = 1;  // greedy, only 777
  params[2].mask = 0;  // sampled, every third id
  params[2].temperature = 1.0f;
  params[2].seed = 11;
  // params[3]: greedy, no mask
  auto d_logits = test::upload(logits, Dtype::f32);
  auto d_params = test::upload_raw(params);
  auto d_masks = test::upload_raw(masks);
  ASSERT_EQ(
      launch_apply_token_masks(d_logits.get<float>(), rows, vocab, d_params.get<SampleParams>(),
                               d_masks.get<std::uint64_t>(), words, nullptr),
      cudaSuccess);
  DeviceBuffer d_out;
  ASSERT_TRUE(d_out.allocate(rows * 4).ok());
  ASSERT_EQ(launch_sample(d_logits.get<float>(), rows, vocab, d_params.get<SampleParams>(),
                          d_out.get<std::int32_t>(), nullptr, nullptr),
            cudaSuccess);
  std::vector<std::int32_t> out(rows);
  ASSERT_EQ(cudaMemcpy(out.data(), d_out.get(), rows * 4, cudaMemcpyDeviceToHost), cudaSuccess);
  auto best = [&](int r, auto allowed) {
    int b = -1;
    for (int t = 0; t < vocab; ++t)
      if (allowed(t) && (b < 0 || logits[r * vocab + t] > logits[r * vocab + b])) b = t;
    return b;
  };
  EXPECT_EQ(out[0], best(0, [](int t) { return t % 3 == 0; }));
  EXPECT_EQ(out[1], 777);
  EXPECT_EQ(out[2] % 3, 0);
  EXPECT_EQ(out[3], best(3, [](int) { return true; }));
}

}  // namespace
}  // namespace agentrt::kernels
