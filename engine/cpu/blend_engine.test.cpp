// KvReuse::blend through the Engine on the CPU backend (issue 21): a segment computed after
// one prefix is placed after another. Fraction 1 equals full recompute, fraction 0 reuses
// every token, exact ignores segments, blended blocks never serve an exact prefix match.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "engine/cpu/cpu_backend.h"
#include "engine/cpu/test_model.h"
#include "engine/engine.h"

namespace agentrt::cpu {
namespace {

using testing::make_test_model;
using testing::TestModelOptions;

std::vector<std::int32_t> random_tokens(std::size_t n, int vocab, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::int32_t> t(n);
  for (auto& x : t)
    x = static_cast<std::int32_t>(rng() % static_cast<std::uint64_t>(vocab));
  return t;
}

struct Outcome {
  std::vector<std::int32_t> tokens;
  std::vector<float> logprobs;  // of the first token's top 20
  std::int64_t cached = -1;
};

struct CpuRig {
  explicit CpuRig(const testing::TestModel& m, EngineOptions opt = {}) {
    auto b = CpuBackend::create(m.config, m.weights, {128, 16, 1});
    EXPECT_TRUE(b.ok());
    backend = std::move(b).value();
    auto e = Engine::create({backend.get(), &m.config, "test-model", nullptr, nullptr}, opt);
    EXPECT_TRUE(e.ok());
    engine = std::move(e).value();
  }
  Outcome run(std::vector<std::int32_t> prompt, std::vector<PromptSegment> segments, KvReuse reuse,
              std::optional<float> fraction) {
    EngineRequest r;
    r.prompt = std::move(prompt);
    r.params.temperature = 0.0f;
    r.params.max_tokens = 6;
    r.params.ignore_eos = true;
    r.params.logprobs = 20;
    r.segments = std::move(segments);
    r.kv_reuse = reuse;
    r.blend_recompute = fraction;
    auto id = engine->add_request(r);
    EXPECT_TRUE(id.ok());
    Outcome out;
    while (engine->has_work()) {
      auto ev = engine->step();
      EXPECT_TRUE(ev.ok());
      if (!ev.ok()) break;
      for (const auto& e : *ev) {
        if (e.kind != EventKind::token) continue;
        if (out.tokens.empty()) {
          out.cached = e.cached_tokens;
          for (const auto& t : e.top)
            out.logprobs.push_back(t.logprob);
        }
        out.tokens.push_back(e.token);
      }
    }
    return out;
  }
  std::unique_ptr<CpuBackend> backend;
  std::unique_ptr<Engine> engine;
};

std::vector<std::int32_t> with_segment(const std::vector<std::int32_t>& before,
                                       const std::vector<std::int32_t>& segment,
                                       const std::vector<std::int32_t>& after) {
  std::vector<std::int32_t> p = before;
  p.insert(p.end(), segment.begin(), segment.end());
  p.insert(p.end(), after.begin(), after.end());
  return p;
}

struct Prompts {
  std::vector<std::int32_t> segment = random_tokens(40, 64, 7);
  std::vector<std::int32_t> first =
      with_segment(random_tokens(13, 64, 1), segment, random_tokens(5, 64, 2));
  std::vector<std::int32_t> second =
      with_segment(random_tokens(29, 64, 3), segment, random_tokens(4, 64, 4));
  std::vector<PromptSegment> first_seg{{13, 53}};
  std::vector<PromptSegment> second_seg{{29, 69}};
};

std::unique_ptr<testing::TestModel> model() {
  TestModelOptions o;
  o.layers = 3;
  o.qk_norm = true;
  return make_test_model(o);
}

TEST(Blend, FractionOneEqualsFullRecompute) {
  const auto m = model();
  const Prompts p;
  CpuRig exact(*m), blend(*m);
  const Outcome want = exact.run(p.second, {}, KvReuse::exact, std::nullopt);
  (void)blend.run(p.first, p.first_seg, KvReuse::blend, 1.0f);
  EXPECT_EQ(blend.engine->segment_stats().inserts, 1);
  const Outcome got = blend.run(p.second, p.second_seg, KvReuse::blend, 1.0f);
  const auto s = blend.engine->segment_stats();
  EXPECT_EQ(s.hits, 1);
  EXPECT_EQ(s.tokens_recomputed, 40);
  EXPECT_EQ(s.tokens_reused, 0);
  EXPECT_EQ(got.tokens, want.tokens);
  ASSERT_EQ(got.logprobs.size(), want.logprobs.size());
  for (std::size_t i = 0; i < want.logprobs.size(); ++i)
    EXPECT_NEAR(got.logprobs[i], want.logprobs[i], 1e-5f) << i;
}

TEST(Blend, FractionZeroReusesEverySegmentToken) {
  const auto m = model();
  const Prompts p;
  CpuRig exact(*m), blend(*m);
  const Outcome want = exact.run(p.second, {}, KvReuse::exact, std::nullopt);
  (void)blend.run(p.first, p.first_seg, KvReuse::blend, 0.0f);
  const auto before = blend.engine->stats().prefilled_tokens;
  const Outcome got = blend.run(p.second, p.second_seg, KvReuse::blend, 0.0f);
  const auto s = blend.engine->segment_stats();
  EXPECT_EQ(s.tokens_reused, 40);
  EXPECT_EQ(s.tokens_recomputed, 0);
  EXPECT_EQ(got.cached, 40);  // prefix B shares nothing with prefix A
  EXPECT_EQ(blend.engine->stats().prefilled_tokens - before,
            static_cast<std::int64_t>(p.second.size()) - 40);
  // Approximate, not garbage: the first token's top logprobs stay close.
  ASSERT_EQ(got.logprobs.size(), want.logprobs.size());
  double worst = 0;
  for (std::size_t i = 0; i < want.logprobs.size(); ++i)
    worst = std::max(worst, static_cast<double>(std::abs(got.logprobs[i] - want.logprobs[i])));
  EXPECT_GT(worst, 1e-6);  // the context differs: reuse is not exact
  EXPECT_LT(worst, 1.0);
  // Blended blocks are never sealed: the same prompt under exact is computed afresh.
  const Outcome again = blend.run(p.second, {}, KvReuse::exact, std::nullopt);
  EXPECT_EQ(again.tokens, want.tokens);
  for (std::size_t i = 0; i < want.logprobs.size(); ++i)
    EXPECT_NEAR(again.logprobs[i], want.logprobs[i], 1e-5f) << i;
}

TEST(Blend, PartialFractionRecomputesThatShare) {
  const auto m = model();
  const Prompts p;
  CpuRig blend(*m);
  (void)blend.run(p.first, p.first_seg, KvReuse::blend, 0.3f);
  (void)blend.run(p.second, p.second_seg, KvReuse::blend, 0.3f);
  const auto s = blend.engine->segment_stats();
  EXPECT_EQ(s.tokens_recomputed, 12);  // round(0.3 * 40)
  EXPECT_EQ(s.tokens_reused, 28);
}

// Small steps: the segment spans several prefill chunks, placed and computed piecewise.
TEST(Blend, ChunkedPrefillAcrossTheSegment) {
  const auto m = model();
  const Prompts p;
  EngineOptions small;
  small.max_tokens_per_step = 16;
  CpuRig exact(*m), blend(*m, small);
  const Outcome want = exact.run(p.second, {}, KvReuse::exact, std::nullopt);
  (void)blend.run(p.first, p.first_seg, KvReuse::blend, 1.0f);
  EXPECT_EQ(blend.engine->segment_stats().inserts, 1);
  const Outcome got = blend.run(p.second, p.second_seg, KvReuse::blend, 1.0f);
  EXPECT_EQ(got.tokens, want.tokens);
  for (std::size_t i = 0; i < want.logprobs.size(); ++i)
    EXPECT_NEAR(got.logprobs[i], want.logprobs[i], 1e-5f) << i;
  std::vector<std::int32_t> third = p.second;
  third[0] = (third[0] + 1) % 64;  // another prefix, the same segment
  const Outcome reused = blend.run(third, p.second_seg, KvReuse::blend, 0.0f);
  EXPECT_EQ(reused.cached, 40);
  EXPECT_EQ(blend.engine->segment_stats().tokens_reused, 40);
}

TEST(Blend, ExactIgnoresSegments) {
  const auto m = model();
  const Prompts p;
  CpuRig rig(*m);
  (void)rig.run(p.first, p.first_seg, KvReuse::exact, std::nullopt);
  (void)rig.run(p.second, p.second_seg, KvReuse::exact, std::nullopt);
  const auto s = rig.engine->segment_stats();
  EXPECT_EQ(s.lookups, 0);
  EXPECT_EQ(s.inserts, 0);
}

}  // namespace
}  // namespace agentrt::cpu
