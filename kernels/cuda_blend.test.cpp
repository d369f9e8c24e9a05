// KvReuse::blend on the CUDA backend (issue 21) against the CPU backend: the segment-KV
// operations (read, placement with re-rotated keys, the early-layer probe, the deviation)
// and whole blended requests through the Engine give what the CPU backend gives, in f32
// storage; in bf16, placed keys equal keys computed at the new position to bf16 rounding.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>

#include "engine/cpu/cpu_backend.h"
#include "engine/cpu/test_model.h"
#include "engine/engine.h"
#include "engine/model/dtype.h"
#include "kernels/cuda_backend.h"
#include "kernels/test_util.h"

namespace agentrt::kernels {
namespace {

using cpu::testing::make_test_model;
using cpu::testing::random_tokens;
using cpu::testing::TestModel;
using cpu::testing::TestModelOptions;

std::unique_ptr<TestModel> model() {
  TestModelOptions o;
  o.layers = 3;
  o.qk_norm = true;
  o.llama3_rope = true;
  o.bias = true;
  return make_test_model(o);
}

std::unique_ptr<CudaBackend> cuda(const TestModel& m, Dtype dt, int blocks = 64) {
  auto b = CudaBackend::create(m.config, m.weights, {blocks, 16, dt, 0});
  EXPECT_TRUE(b.ok()) << (b.ok() ? "" : b.error().to_string());
  return b.ok() ? std::move(b).value() : nullptr;
}

std::unique_ptr<cpu::CpuBackend> host(const TestModel& m, int blocks = 64) {
  auto b = cpu::CpuBackend::create(m.config, m.weights, {blocks, 16, 1});
  EXPECT_TRUE(b.ok());
  return std::move(b).value();
}

void prefill(Backend& b, const std::vector<std::int32_t>& tokens,
             const std::vector<std::int32_t>& table) {
  BatchPlan plan;
  plan.seqs.push_back({tokens, 0, table, false});
  Logits out;
  ASSERT_TRUE(b.forward(plan, out).ok());
}

std::vector<float> as_floats(const std::vector<std::byte>& bytes, Dtype dt) {
  if (dt == Dtype::f32) {
    std::vector<float> f(bytes.size() / 4);
    std::memcpy(f.data(), bytes.data(), bytes.size());
    return f;
  }
  std::vector<float> f(bytes.size() / 2);
  for (std::size_t i = 0; i < f.size(); ++i) {
    std::uint16_t v;
    std::memcpy(&v, bytes.data() + 2 * i, 2);
    f[i] = model::bf16_to_f32(v);
  }
  return f;
}

// max |a - b| / max(1, max |b|) over [lo, hi) of each token's floats (per_token floats each).
double worst(const std::vector<float>& a, const std::vector<float>& b, std::size_t per_token,
             std::size_t lo, std::size_t hi) {
  double w = 0, scale = 1;
  for (std::size_t t = 0; t * per_token < b.size(); ++t) {
    for (std::size_t j = lo; j < hi; ++j) {
      const std::size_t i = t * per_token + j;
      w = std::max(w, static_cast<double>(std::abs(a[i] - b[i])));
      scale = std::max(scale, static_cast<double>(std::abs(b[i])));
    }
  }
  return w / scale;
}

TEST(CudaSegmentKv, OperationsMatchTheCpuBackend) {
  AGENTRT_REQUIRE_CUDA_DEVICE();
  const auto m = model();
  auto g = cuda(*m, Dtype::f32);
  auto c = host(*m);
  ASSERT_TRUE(g && c);
  const std::size_t tkb = c->token_kv_bytes();
  ASSERT_EQ(g->token_kv_bytes(), tkb);  // f32 on both
  const int V = m->config.vocab_size;
  const auto tokens = random_tokens(45, V, 3);
  const std::vector<std::int32_t> table{5, 9, 2};
  prefill(*g, tokens, table);
  prefill(*c, tokens, table);
  // A run that starts and ends inside blocks.
  std::vector<std::byte> kg(30 * tkb), kc(30 * tkb);
  ASSERT_TRUE(g->read_token_kv(table, 7, 30, kg).ok());
  ASSERT_TRUE(c->read_token_kv(table, 7, 30, kc).ok());
  const std::size_t per = tkb / 4;
  EXPECT_LT(worst(as_floats(kg, Dtype::f32), as_floats(kc, Dtype::f32), per, 0, per), 1e-4);
  // Placed at 101 (re-rotated by 94) into other blocks: the same as the CPU's placement.
  const std::vector<std::int32_t> other{11, 12, 13, 14, 15, 16, 17, 18, 19};
  ASSERT_TRUE(g->place_token_kv(other, 101, kc, 7).ok());
  ASSERT_TRUE(c->place_token_kv(other, 101, kc, 7).ok());
  std::vector<std::byte> pg(30 * tkb), pc(30 * tkb);
  ASSERT_TRUE(g->read_token_kv(other, 101, 30, pg).ok());
  ASSERT_TRUE(c->read_token_kv(other, 101, 30, pc).ok());
  const auto fpg = as_floats(pg, Dtype::f32), fpc = as_floats(pc, Dtype::f32);
  EXPECT_LT(worst(fpg, fpc, per, 0, per), 1e-4);
  EXPECT_GT(worst(fpc, as_floats(kc, Dtype::f32), per, 0, per), 1e-2) << "keys must move";
  // The probe over a new context writes layers 0-1 as the CPU's does; the deviation of the
  // placed copy against them matches too.
  const auto context = random_tokens(60, V, 8);
  const std::vector<std::int32_t> t2{20, 21, 22, 23};
  BatchPlan probe;
  probe.seqs.push_back({context, 0, t2, false});
  ASSERT_TRUE(g->forward_kv_probe(probe, 1).ok());
  ASSERT_TRUE(c->forward_kv_probe(probe, 1).ok());
  std::vector<std::byte> rg(60 * tkb), rc(60 * tkb);
  ASSERT_TRUE(g->read_token_kv(t2, 0, 60, rg).ok());
  ASSERT_TRUE(c->read_token_kv(t2, 0, 60, rc).ok());
  const std::size_t layer_floats = per / 3;
  EXPECT_LT(worst(as_floats(rg, Dtype::f32), as_floats(rc, Dtype::f32), per, 0, 2 * layer_floats),
            1e-4);
  std::vector<float> dg(30), dc(30);
  ASSERT_TRUE(g->token_kv_deviation(t2, 13, kc, 7, 1, dg).ok());
  ASSERT_TRUE(c->token_kv_deviation(t2, 13, kc, 7, 1, dc).ok());
  for (std::size_t i = 0; i < dg.size(); ++i)
    EXPECT_NEAR(dg[i], dc[i], 1e-4 * std::max(1.0f, dc[i])) << i;
  EXPECT_GT(*std::max_element(dc.begin(), dc.end()), 1e-3f);
}

// bf16 storage: layer 0's K/V depend on the token and position only, so a segment computed
// at 11 and placed at 300 equals the segment computed at 300, to bf16 rounding.
TEST(CudaSegmentKv, Bf16PlacedKeysEqualKeysComputedThere) {
  AGENTRT_REQUIRE_CUDA_DEVICE();
  const auto m = model();
  auto g = cuda(*m, Dtype::bf16);
  ASSERT_TRUE(g);
  const int V = m->config.vocab_size;
  const auto segment = random_tokens(20, V, 5);
  auto a = random_tokens(11, V, 1), b = random_tokens(300, V, 2);
  a.insert(a.end(), segment.begin(), segment.end());
  b.insert(b.end(), segment.begin(), segment.end());
  std::vector<std::int32_t> ta{0, 1}, tb, tc;
  for (int i = 0; i < 21; ++i) {
    tb.push_back(2 + i);
    tc.push_back(30 + i);
  }
  prefill(*g, a, ta);
  prefill(*g, b, tb);
  const std::size_t tkb = g->token_kv_bytes(), per = tkb / 2;
  std::vector<std::byte> from_a(20 * tkb), from_b(20 * tkb), placed(20 * tkb);
  ASSERT_TRUE(g->read_token_kv(ta, 11, 20, from_a).ok());
  ASSERT_TRUE(g->read_token_kv(tb, 300, 20, from_b).ok());
  ASSERT_TRUE(g->place_token_kv(tc, 300, from_a, 11).ok());
  ASSERT_TRUE(g->read_token_kv(tc, 300, 20, placed).ok());
  const std::size_t layer0 = per / 3;  // K and V of layer 0
  const auto fa = as_floats(from_a, Dtype::bf16), fb = as_floats(from_b, Dtype::bf16);
  EXPECT_LT(worst(as_floats(placed, Dtype::bf16), fb, per, 0, layer0), 0.02);
  EXPECT_GT(worst(fa, fb, per, 0, layer0 / 2), 0.05) << "the keys at 11 and 300 differ";
}

TEST(CudaSegmentKv, BadRangesAreErrors) {
  AGENTRT_REQUIRE_CUDA_DEVICE();
  const auto m = model();
  auto g = cuda(*m, Dtype::bf16);
  ASSERT_TRUE(g);
  const std::size_t tkb = g->token_kv_bytes();
  std::vector<std::byte> buf(4 * tkb);
  const std::vector<std::int32_t> table{1};
  auto st = g->read_token_kv(table, 14, 4, buf);  // past the one block
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("read_token_kv"), std::string::npos);
  EXPECT_FALSE(g->read_token_kv(table, 0, 3, buf).ok());  // wrong size
  EXPECT_FALSE(g->place_token_kv(std::vector<std::int32_t>{99}, 0, buf, 0).ok());
  EXPECT_FALSE(g->place_token_kv(std::vector<std::int32_t>{1, 99}, 14, buf, 0).ok());
  EXPECT_FALSE(g->place_token_kv(table, 0, std::span(buf).first(tkb - 1), 0).ok());
  std::vector<float> dev(4);
  EXPECT_FALSE(g->token_kv_deviation(table, 0, buf, 0, 3, dev).ok());  // 3 layers: 0-2
  BatchPlan plan;
  plan.seqs.push_back({{1, 2}, 0, table, false});
  EXPECT_FALSE(g->forward_kv_probe(plan, 3).ok());
}

struct Outcome {
  std::vector<std::int32_t> tokens;
  std::vector<float> logprobs;  // the first token's top 20
  std::int64_t cached = -1;
};

struct Rig {
  std::unique_ptr<Backend> backend;
  std::unique_ptr<Engine> engine;
  int logprobs = 20;  // top logprobs of each token; <= 0 lets the CUDA backend sample
  Outcome run(std::vector<std::int32_t> prompt, std::vector<PromptSegment> segments, KvReuse reuse,
              std::optional<float> fraction) {
    EngineRequest r;
    r.prompt = std::move(prompt);
    r.params.temperature = 0.0f;
    r.params.max_tokens = 6;
    r.params.ignore_eos = true;
    r.params.logprobs = logprobs;
    r.segments = std::move(segments);
    r.kv_reuse = reuse;
    r.blend_recompute = fraction;
    EXPECT_TRUE(engine->add_request(r).ok());
    Outcome out;
    while (engine->has_work()) {
      auto ev = engine->step();
      EXPECT_TRUE(ev.ok()) << (ev.ok() ? "" : ev.error().to_string());
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
};

std::unique_ptr<Rig> rig(const TestModel& m, bool on_cuda, EngineOptions opt = {}) {
  auto r = std::make_unique<Rig>();
  if (on_cuda) {
    r->backend = cuda(m, Dtype::f32, 128);
  } else {
    r->backend = host(m, 128);
  }
  if (!r->backend) return nullptr;
  auto e = Engine::create({r->backend.get(), &m.config, "test-model", nullptr, nullptr}, opt);
  EXPECT_TRUE(e.ok());
  r->engine = std::move(e).value();
  return r;
}

// Two prompts holding the same 40-token segment at positions 13 ({13, 53}) and 29
// ({29, 69}), each with its own tail.
std::pair<std::vector<std::int32_t>, std::vector<std::int32_t>> two_contexts(int vocab) {
  const auto segment = random_tokens(40, vocab, 7);
  auto first = random_tokens(13, vocab, 1), second = random_tokens(29, vocab, 3);
  first.insert(first.end(), segment.begin(), segment.end());
  second.insert(second.end(), segment.begin(), segment.end());
  const auto tail1 = random_tokens(5, vocab, 2), tail2 = random_tokens(4, vocab, 4);
  first.insert(first.end(), tail1.begin(), tail1.end());
  second.insert(second.end(), tail2.begin(), tail2.end());
  return {std::move(first), std::move(second)};
}

// The same blended requests on both backends: the same segment-cache counts, the same
// tokens, the same first-token logprobs, at every fraction, with small steps too (the
// segment then spans prefill chunks).
TEST(CudaBlend, EngineRequestsMatchTheCpuBackend) {
  AGENTRT_REQUIRE_CUDA_DEVICE();
  const auto m = model();
  const auto [first, second] = two_contexts(m->config.vocab_size);
  for (const int step_tokens : {512, 16}) {
    for (const float fraction : {0.0f, 0.15f, 0.3f, 1.0f}) {
      EngineOptions opt;
      opt.max_tokens_per_step = step_tokens;
      auto g = rig(*m, true, opt), c = rig(*m, false, opt);
      ASSERT_TRUE(g && c);
      std::vector<Outcome> got, want;
      for (Rig* r : {g.get(), c.get()}) {
        auto& out = r == g.get() ? got : want;
        out.push_back(r->run(first, {{13, 53}}, KvReuse::blend, fraction));
        out.push_back(r->run(second, {{29, 69}}, KvReuse::blend, fraction));
      }
      const auto sg = g->engine->segment_stats(), sc = c->engine->segment_stats();
      const std::string where =
          "fraction " + std::to_string(fraction) + ", step " + std::to_string(step_tokens);
      EXPECT_EQ(sg.hits, 1) << where;
      // The stored segment's copy stayed on the device, and the placement used it.
      EXPECT_EQ(static_cast<CudaBackend&>(*g->backend).segment_device_cache().entries(), 1u)
          << where;
      EXPECT_EQ(sg.tokens_reused, sc.tokens_reused) << where;
      EXPECT_EQ(sg.tokens_recomputed, sc.tokens_recomputed) << where;
      for (std::size_t i = 0; i < 2; ++i) {
        EXPECT_EQ(got[i].tokens, want[i].tokens) << where << ", request " << i;
        EXPECT_EQ(got[i].cached, want[i].cached) << where << ", request " << i;
        ASSERT_EQ(got[i].logprobs.size(), want[i].logprobs.size());
        for (std::size_t k = 0; k < want[i].logprobs.size(); ++k)
          EXPECT_NEAR(got[i].logprobs[k], want[i].logprobs[k], 2e-4f) << where << ", " << k;
      }
    }
  }
}

// Without top logprobs the CUDA engine samples blended steps on the device (their logits
// rows are the runs' last rows, none for a chunk whose rows were all placed): the same
// tokens as the CPU backend, with whole and small steps.
TEST(CudaBlend, BlendedStepsSampleOnTheDevice) {
  AGENTRT_REQUIRE_CUDA_DEVICE();
  const auto m = model();
  const auto [first, second] = two_contexts(m->config.vocab_size);
  for (const int step_tokens : {512, 16}) {
    for (const float fraction : {0.0f, 0.3f}) {
      EngineOptions opt;
      opt.max_tokens_per_step = step_tokens;
      auto g = rig(*m, true, opt), c = rig(*m, false, opt);
      ASSERT_TRUE(g && c);
      g->logprobs = c->logprobs = -1;
      const std::string where =
          "fraction " + std::to_string(fraction) + ", step " + std::to_string(step_tokens);
      for (Rig* r : {g.get(), c.get()})
        r->run(first, {{13, 53}}, KvReuse::blend, fraction);
      const auto before = static_cast<CudaBackend&>(*g->backend).device_samples();
      const auto got = g->run(second, {{29, 69}}, KvReuse::blend, fraction);
      const auto want = c->run(second, {{29, 69}}, KvReuse::blend, fraction);
      EXPECT_EQ(g->engine->segment_stats().hits, 1) << where;
      EXPECT_EQ(got.tokens, want.tokens) << where;
      EXPECT_GT(static_cast<CudaBackend&>(*g->backend).device_samples(), before) << where;
    }
  }
}

// With anchors (the CUDA backend's DeviceAnchorPool, the CPU's HostAnchorPool): the second
// context's placement is computed in full and recorded, the third's predicted, on both
// backends alike; the same tokens and first-token logprobs.
TEST(CudaBlend, AnchorRequestsMatchTheCpuBackend) {
  AGENTRT_REQUIRE_CUDA_DEVICE();
  const auto m = model();
  const int V = m->config.vocab_size;
  const auto segment = random_tokens(40, V, 7);
  std::vector<std::vector<std::int32_t>> prompts;
  for (const int prefix : {13, 29, 21}) {
    auto p = random_tokens(static_cast<std::size_t>(prefix), V, static_cast<std::uint64_t>(prefix));
    p.insert(p.end(), segment.begin(), segment.end());
    const auto tail = random_tokens(5, V, static_cast<std::uint64_t>(prefix) + 100);
    p.insert(p.end(), tail.begin(), tail.end());
    prompts.push_back(std::move(p));
  }
  EngineOptions opt;
  opt.blend_anchors = true;
  opt.anchors.min_anchors = 1;
  opt.anchors.novelty = 1e30f;
  auto g = rig(*m, true, opt), c = rig(*m, false, opt);
  ASSERT_TRUE(g && c);
  std::vector<Outcome> got, want;
  for (Rig* r : {g.get(), c.get()}) {
    auto& out = r == g.get() ? got : want;
    for (const int prefix : {13, 29, 21}) {
      const auto& p = prompts[out.size()];
      out.push_back(r->run(p, {{prefix, prefix + 40}}, KvReuse::blend, 0.0f));
    }
  }
  const auto ag = g->engine->anchor_stats(), ac = c->engine->anchor_stats();
  EXPECT_EQ(ag.recorded, 1);
  EXPECT_EQ(ag.predicted_segments, 1);
  EXPECT_EQ(ag.recorded, ac.recorded);
  EXPECT_EQ(ag.predicted_segments, ac.predicted_segments);
  EXPECT_EQ(ag.tokens, ac.tokens);
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].tokens, want[i].tokens) << "request " << i;
    ASSERT_EQ(got[i].logprobs.size(), want[i].logprobs.size());
    for (std::size_t k = 0; k < want[i].logprobs.size(); ++k)
      EXPECT_NEAR(got[i].logprobs[k], want[i].logprobs[k], 5e-4f) << "request " << i << ", " << k;
  }
}

TEST(DeviceSegmentCache, KeepsCopiesByIdWithinItsCapLeastRecentlyUsedFirst) {
  AGENTRT_REQUIRE_CUDA_DEVICE();
  DeviceSegmentCache cache(1000);
  EXPECT_EQ(cache.insert(0, 10), nullptr);  // id 0 names nothing
  EXPECT_EQ(cache.insert(1, 1001), nullptr);
  void* a = cache.insert(1, 400);
  void* b = cache.insert(2, 400);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(cache.find(1, 400), a);  // 1 is now the most recently used
  EXPECT_EQ(cache.find(1, 399), nullptr);
  ASSERT_NE(cache.insert(3, 400), nullptr);  // evicts 2
  EXPECT_EQ(cache.find(2, 400), nullptr);
  EXPECT_EQ(cache.find(1, 400), a);
  EXPECT_EQ(cache.bytes(), 800u);
  EXPECT_EQ(cache.entries(), 2u);
}

}  // namespace
}  // namespace agentrt::kernels
