// KvReuse::blend through the Engine on the CPU backend (issue 21): a segment computed after
// one prefix is placed after another. Fraction 1 equals full recompute, fraction 0 reuses
// every token, exact ignores segments, blended blocks never serve an exact prefix match.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <initializer_list>

#include "engine/cpu/cpu_backend.h"
#include "engine/cpu/test_model.h"
#include "engine/engine.h"
#include "engine/kv/memory_tier.h"

namespace agentrt::cpu {
namespace {

using testing::make_test_model;
using testing::random_tokens;
using testing::TestModelOptions;

struct Outcome {
  std::vector<std::int32_t> tokens;
  std::vector<float> logprobs;  // of the first token's top 20
  std::int64_t cached = -1;
};

struct CpuRig {
  explicit CpuRig(const testing::TestModel& m, EngineOptions opt = {},
                  kv::KvTier* persistent = nullptr) {
    auto b = CpuBackend::create(m.config, m.weights, {128, 16, 1});
    EXPECT_TRUE(b.ok());
    backend = std::move(b).value();
    auto e = Engine::create({backend.get(), &m.config, "test-model", persistent, nullptr}, opt);
    EXPECT_TRUE(e.ok());
    engine = std::move(e).value();
  }
  std::vector<EngineEvent> drain() {
    std::vector<EngineEvent> all;
    while (engine->has_work()) {
      auto ev = engine->step();
      EXPECT_TRUE(ev.ok());
      if (!ev.ok()) break;
      all.insert(all.end(), ev->begin(), ev->end());
    }
    return all;
  }
  Outcome run(std::vector<std::int32_t> prompt, std::vector<PromptSegment> segments, KvReuse reuse,
              std::optional<float> fraction, std::optional<bool> anchors = std::nullopt) {
    EngineRequest r;
    r.prompt = std::move(prompt);
    r.params.temperature = 0.0f;
    r.params.max_tokens = 6;
    r.params.ignore_eos = true;
    r.params.logprobs = 20;
    r.segments = std::move(segments);
    r.kv_reuse = reuse;
    r.blend_recompute = fraction;
    r.blend_anchors = anchors;
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

std::vector<std::int32_t> concat(std::initializer_list<std::vector<std::int32_t>> parts) {
  std::vector<std::int32_t> out;
  for (const auto& p : parts)
    out.insert(out.end(), p.begin(), p.end());
  return out;
}

// An agent's turn that pauses for its tool; the tool result comes back on the resume.
RequestId paused_turn(CpuRig& rig, KvReuse reuse, float fraction) {
  EngineRequest r;
  r.prompt = random_tokens(21, 64, 11);
  r.params.temperature = 0.0f;
  r.params.max_tokens = 3;
  r.params.ignore_eos = true;
  r.kv_reuse = reuse;
  r.blend_recompute = fraction;
  r.pause_on_finish = std::chrono::seconds(60);
  auto id = rig.engine->add_request(r);
  EXPECT_TRUE(id.ok());
  const auto events = rig.drain();
  EXPECT_TRUE(!events.empty() && events.back().kind == EventKind::paused);
  return id.ok() ? *id : 0;
}

// Segments appended on a resumed turn (tool results) are blended as the prompt's are: a
// cached one is placed, a new one is stored once computed and found by the next prompt
// that quotes it at another offset.
TEST(Blend, ResumedTurnBlendsAppendedSegments) {
  const auto m = model();
  const Prompts p;
  const auto fresh = random_tokens(30, 64, 12);  // a tool result no prompt had
  const auto appended = concat({random_tokens(5, 64, 13), p.segment, random_tokens(6, 64, 14),
                                fresh, random_tokens(2, 64, 15)});
  ResumeOptions o;
  o.segments = {{5, 45}, {51, 81}};
  // The resumed turn's prefill, under exact (segments ignored) and under blend.
  std::int64_t prefilled[2] = {0, 0};
  CpuRig exact(*m), rig(*m);
  for (CpuRig* r : {&exact, &rig}) {
    const KvReuse reuse = r == &rig ? KvReuse::blend : KvReuse::exact;
    (void)r->run(p.first, p.first_seg, reuse, 0.0f);
    const RequestId id = paused_turn(*r, reuse, 0.0f);
    const auto before = r->engine->stats().prefilled_tokens;
    r->engine->resume(id, appended, o);
    (void)r->drain();
    prefilled[r == &rig] = r->engine->stats().prefilled_tokens - before;
  }
  EXPECT_EQ(exact.engine->segment_stats().lookups, 0);
  auto s = rig.engine->segment_stats();
  EXPECT_EQ(s.hits, 1);
  EXPECT_EQ(s.tokens_reused, 40);
  EXPECT_EQ(s.inserts, 2);                     // the fresh result, stored
  EXPECT_EQ(prefilled[1], prefilled[0] - 40);  // placed, not computed
  const auto quoted = concat({random_tokens(9, 64, 16), fresh, random_tokens(3, 64, 17)});
  (void)rig.run(quoted, {{9, 39}}, KvReuse::blend, 0.0f);
  s = rig.engine->segment_stats();
  EXPECT_EQ(s.hits, 2);
  EXPECT_EQ(s.tokens_reused, 70);
}

TEST(Blend, ResumeSegmentsOutsideTheAppendedTokensEndTheRequest) {
  const auto m = model();
  CpuRig rig(*m);
  const RequestId id = paused_turn(rig, KvReuse::blend, 0.0f);
  ResumeOptions o;
  o.segments = {{2, 12}};
  rig.engine->resume(id, random_tokens(10, 64, 3), o);
  const auto events = rig.drain();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().kind, EventKind::error);
  EXPECT_NE(events.back().message.find("resume: appended: segments[0] [2, 12)"), std::string::npos)
      << events.back().message;
}

// The segment cache's persistent tier: a second engine over the same store (a restart)
// places the segment the first one computed, exactly as a RAM hit would.
TEST(Blend, SegmentsSurviveARestartThroughThePersistentTier) {
  const auto m = model();
  const Prompts p;
  CpuRig ram(*m);
  (void)ram.run(p.first, p.first_seg, KvReuse::blend, 0.0f);
  const Outcome want = ram.run(p.second, p.second_seg, KvReuse::blend, 0.0f);
  kv::testing::MemoryTier tier;
  {
    CpuRig before(*m, {}, &tier);
    (void)before.run(p.first, p.first_seg, KvReuse::blend, 0.0f);
    ASSERT_TRUE(before.engine->flush_persistent().ok());
    EXPECT_EQ(before.engine->segment_stats().store_written, 1);
  }
  CpuRig after(*m, {}, &tier);
  const Outcome got = after.run(p.second, p.second_seg, KvReuse::blend, 0.0f);
  const auto s = after.engine->segment_stats();
  EXPECT_EQ(s.store_hits, 1);
  EXPECT_EQ(s.tokens_reused, 40);
  EXPECT_EQ(got.tokens, want.tokens);
  ASSERT_EQ(got.logprobs.size(), want.logprobs.size());
  for (std::size_t i = 0; i < want.logprobs.size(); ++i)
    EXPECT_EQ(got.logprobs[i], want.logprobs[i]) << i;
  EngineOptions off;
  off.persist_segments = false;
  CpuRig without(*m, off, &tier);
  (void)without.run(p.second, p.second_seg, KvReuse::blend, 0.0f);
  EXPECT_EQ(without.engine->segment_stats().hits, 0);
}

// Pins: a segment evicted while a request still places it (here by the request's own
// earlier segment, stored mid-prefill) stays valid for that request, which holds the entry:
// the result equals a run whose cache never evicts.
TEST(Blend, ASegmentEvictedWhileInUseStaysValidForItsRequest) {
  const auto m = model();
  const Prompts p;
  const auto other = random_tokens(40, 64, 21);
  // Chunks of 16: the one holding [32, 48) ends `other` (stored after that step) and starts
  // p.segment (placed from the cache over this chunk and the next three).
  const auto prompt =
      concat({random_tokens(5, 64, 22), other, p.segment, random_tokens(3, 64, 23)});
  const std::vector<PromptSegment> segs{{5, 45}, {45, 85}};
  EngineOptions big, small;
  big.max_tokens_per_step = small.max_tokens_per_step = 16;
  CpuRig probe(*m);
  small.segment_cache_bytes = 40 * (probe.backend->token_kv_bytes() + sizeof(std::int32_t));
  CpuRig roomy(*m, big), tight(*m, small);
  Outcome out[2];
  for (CpuRig* r : {&roomy, &tight}) {
    (void)r->run(p.first, p.first_seg, KvReuse::blend, 0.0f);
    out[r == &tight] = r->run(prompt, segs, KvReuse::blend, 0.0f);
  }
  const auto s = tight.engine->segment_stats();
  EXPECT_EQ(s.evictions, 1);  // p.segment, by `other`
  EXPECT_EQ(s.tokens_reused, 40);
  EXPECT_EQ(s.entries, 1);
  EXPECT_EQ(roomy.engine->segment_stats().tokens_reused, 40);
  EXPECT_EQ(out[1].tokens, out[0].tokens);
  ASSERT_EQ(out[1].logprobs.size(), out[0].logprobs.size());
  for (std::size_t i = 0; i < out[0].logprobs.size(); ++i)
    EXPECT_EQ(out[1].logprobs[i], out[0].logprobs[i]) << i;
}

// Anchors (kv/segment_anchors.h): the first placement in a new context is computed in full
// and recorded; the same change of context again is corrected by the recorded offsets, so
// reuse without recomputation gives what a full recompute gives (each token's nearest anchor
// token is itself, at distance 0).
TEST(BlendAnchors, APlacementLikeARecordedOneIsCorrectedToTheFullRecompute) {
  const auto m = model();
  const Prompts p;
  EngineOptions with;
  with.prefix_reuse = false;  // the second placement must not be an exact prefix hit
  with.blend_anchors = true;
  with.anchors.min_anchors = 1;
  with.anchors.neighbours = 1;
  EngineOptions without = with;
  without.blend_anchors = false;
  CpuRig exact(*m), rig(*m, with), plain(*m, without);
  const Outcome want = exact.run(p.second, {}, KvReuse::exact, std::nullopt);
  for (CpuRig* r : {&rig, &plain})
    (void)r->run(p.first, p.first_seg, KvReuse::blend, 0.0f);
  // The first placement: no anchors yet, so it is computed in full and recorded.
  const Outcome recorded = rig.run(p.second, p.second_seg, KvReuse::blend, 0.0f);
  EXPECT_EQ(rig.engine->anchor_stats().recorded, 1);
  EXPECT_EQ(rig.engine->anchor_stats().tokens, 40);
  EXPECT_EQ(rig.engine->segment_stats().tokens_recomputed, 40);
  for (std::size_t i = 0; i < want.logprobs.size(); ++i)
    EXPECT_NEAR(recorded.logprobs[i], want.logprobs[i], 1e-5f) << i;
  // The second: predicted and reused whole.
  const Outcome got = rig.run(p.second, p.second_seg, KvReuse::blend, 0.0f);
  const Outcome off = plain.run(p.second, p.second_seg, KvReuse::blend, 0.0f);
  EXPECT_EQ(rig.engine->anchor_stats().predicted_segments, 1);
  EXPECT_EQ(rig.engine->segment_stats().tokens_reused, 40);
  EXPECT_EQ(got.tokens, want.tokens);
  double worst = 0, worst_off = 0;
  for (std::size_t i = 0; i < want.logprobs.size(); ++i) {
    worst = std::max(worst, static_cast<double>(std::abs(got.logprobs[i] - want.logprobs[i])));
    worst_off =
        std::max(worst_off, static_cast<double>(std::abs(off.logprobs[i] - want.logprobs[i])));
  }
  EXPECT_LT(worst, 1e-4);
  EXPECT_GT(worst_off, 10 * worst);  // without anchors the same placement is approximate
}

// Under a recompute fraction of 1 a placement is computed in full anyway: it is recorded
// without a probe. A model of 2 layers has nothing after the probe layer: no anchors.
TEST(BlendAnchors, FullRecomputeRecordsAndTwoLayerModelsHaveNone) {
  const auto m = model();
  const Prompts p;
  EngineOptions o;
  o.blend_anchors = true;
  CpuRig rig(*m, o);
  (void)rig.run(p.first, p.first_seg, KvReuse::blend, 1.0f);
  (void)rig.run(p.second, p.second_seg, KvReuse::blend, 1.0f);
  EXPECT_EQ(rig.engine->anchor_stats().recorded, 1);
  EXPECT_EQ(rig.engine->anchor_stats().predicted_segments, 0);
  TestModelOptions two;
  two.layers = 2;
  const auto m2 = make_test_model(two);
  CpuRig small(*m2, o);
  (void)small.run(p.first, p.first_seg, KvReuse::blend, 0.0f);
  (void)small.run(p.second, p.second_seg, KvReuse::blend, 0.0f);
  EXPECT_EQ(small.engine->anchor_stats().recorded, 0);
  EXPECT_EQ(small.engine->segment_stats().tokens_reused, 40);
}

// EngineRequest::blend_anchors overrides EngineOptions::blend_anchors per request: a
// request that says false neither uses nor adds to the pool of an engine whose default is
// on; one that says true does on an engine whose default is off.
TEST(BlendAnchors, TheRequestChoosesOverTheEngineDefault) {
  const auto m = model();
  const Prompts p;
  EngineOptions on;
  on.prefix_reuse = false;
  on.blend_anchors = true;
  on.anchors.min_anchors = 1;
  EngineOptions off = on;
  off.blend_anchors = false;
  CpuRig a(*m, on), b(*m, off);
  for (CpuRig* r : {&a, &b})
    (void)r->run(p.first, p.first_seg, KvReuse::blend, 0.0f);
  (void)a.run(p.second, p.second_seg, KvReuse::blend, 0.0f, false);
  EXPECT_EQ(a.engine->anchor_stats().recorded, 0);
  EXPECT_EQ(a.engine->segment_stats().tokens_reused, 40);
  (void)b.run(p.second, p.second_seg, KvReuse::blend, 0.0f);
  EXPECT_EQ(b.engine->anchor_stats().recorded, 0);
  (void)b.run(p.second, p.second_seg, KvReuse::blend, 0.0f, true);
  EXPECT_EQ(b.engine->anchor_stats().recorded, 1);
  (void)b.run(p.second, p.second_seg, KvReuse::blend, 0.0f, true);
  EXPECT_EQ(b.engine->anchor_stats().predicted_segments, 1);
}

// A segment too big for the pool's caps can never become an anchor: with an empty pool it
// is placed as blend alone (reused whole at fraction 0), not computed in full for nothing.
TEST(BlendAnchors, ASegmentOverThePoolsCapsIsPlacedAsBlendAlone) {
  const auto m = model();
  const Prompts p;
  EngineOptions o;
  o.prefix_reuse = false;
  o.blend_anchors = true;
  o.anchors.max_tokens = 39;  // the segment has 40
  CpuRig rig(*m, o);
  (void)rig.run(p.first, p.first_seg, KvReuse::blend, 0.0f);
  (void)rig.run(p.second, p.second_seg, KvReuse::blend, 0.0f);
  EXPECT_EQ(rig.engine->anchor_stats().recorded, 0);
  EXPECT_EQ(rig.engine->segment_stats().tokens_reused, 40);
  EXPECT_EQ(rig.engine->segment_stats().tokens_recomputed, 0);
  (void)rig.run(p.second, p.second_seg, KvReuse::blend, 1.0f);  // computed in full anyway
  EXPECT_EQ(rig.engine->anchor_stats().recorded, 0);
}

}  // namespace
}  // namespace agentrt::cpu
