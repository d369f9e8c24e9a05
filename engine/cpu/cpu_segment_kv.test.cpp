// CpuBackend segment KV (issue 21): re-rotated keys equal keys computed at the new position,
// the probe writes exactly forward()'s early-layer K/V, bad ranges are errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "engine/cpu/cpu_backend.h"
#include "engine/cpu/test_model.h"

namespace agentrt::cpu {
namespace {

using testing::make_test_model;
using testing::random_tokens;
using testing::TestModelOptions;

std::unique_ptr<CpuBackend> make_backend(const model::ModelConfig& c,
                                         const model::ModelWeights& w) {
  auto b = CpuBackend::create(c, w, {64, 16, 1});
  EXPECT_TRUE(b.ok()) << (b.ok() ? "" : b.error().to_string());
  return std::move(b).value();
}

void prefill(CpuBackend& b, const std::vector<std::int32_t>& tokens, int start,
             const std::vector<std::int32_t>& table) {
  BatchPlan plan;
  plan.seqs.push_back({tokens, start, table, false});
  Logits out;
  ASSERT_TRUE(b.forward(plan, out).ok());
}

std::vector<float> floats(const std::vector<std::byte>& bytes) {
  std::vector<float> f(bytes.size() / sizeof(float));
  std::memcpy(f.data(), bytes.data(), bytes.size());
  return f;
}

// Layer 0's K/V depend only on the token and its position: a segment computed at p0 and
// placed at p1 (keys re-rotated) must match the segment computed at p1, to f32 rounding.
class ReRotation : public ::testing::TestWithParam<TestModelOptions> {};

TEST_P(ReRotation, PlacedKeysEqualKeysComputedThere) {
  const auto m = make_test_model(GetParam());
  auto b = make_backend(m->config, m->weights);
  const int V = m->config.vocab_size;
  const auto segment = random_tokens(20, V, 5);
  const int kv_floats = m->config.num_kv_heads * m->config.head_dim;
  for (const int p1 : {37, 300, 3}) {
    const int p0 = 11;
    // Seq A: 11 tokens of prefix, then the segment at 11. Seq B: p1 tokens, then it at p1.
    std::vector<std::int32_t> a = random_tokens(p0, V, 1), bt = random_tokens(p1, V, 2);
    a.insert(a.end(), segment.begin(), segment.end());
    bt.insert(bt.end(), segment.begin(), segment.end());
    const std::vector<std::int32_t> ta{0, 1},
        tb{2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22};
    prefill(*b, a, 0, ta);
    prefill(*b, bt, 0, tb);
    const std::size_t tkb = b->token_kv_bytes();
    std::vector<std::byte> from_a(20 * tkb), from_b(20 * tkb), placed(20 * tkb);
    ASSERT_TRUE(b->read_token_kv(ta, p0, 20, from_a).ok());
    ASSERT_TRUE(b->read_token_kv(tb, p1, 20, from_b).ok());
    // Place A's segment into a third table at p1, read it back.
    const std::vector<std::int32_t> tc{30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
                                       41, 42, 43, 44, 45, 46, 47, 48, 49, 50};
    ASSERT_TRUE(b->place_token_kv(tc, p1, from_a, p0).ok());
    ASSERT_TRUE(b->read_token_kv(tc, p1, 20, placed).ok());
    const auto fa = floats(from_a), fb = floats(from_b), fp = floats(placed);
    const std::size_t per_token = tkb / sizeof(float);
    double worst = 0, scale = 0, moved = 0;
    for (int t = 0; t < 20; ++t) {
      for (int j = 0; j < 2 * kv_floats; ++j) {  // layer 0: K then V
        const std::size_t i = static_cast<std::size_t>(t) * per_token + static_cast<std::size_t>(j);
        worst = std::max(worst, static_cast<double>(std::abs(fp[i] - fb[i])));
        scale = std::max(scale, static_cast<double>(std::abs(fb[i])));
        if (j < kv_floats) moved = std::max(moved, static_cast<double>(std::abs(fa[i] - fb[i])));
      }
    }
    EXPECT_LT(worst, 2e-5 * std::max(1.0, scale)) << "p1 " << p1;
    EXPECT_GT(moved, 1e-3) << "the keys at p0 and p1 differ; the test must be able to fail";
  }
}

INSTANTIATE_TEST_SUITE_P(Variants, ReRotation, ::testing::Values(TestModelOptions{}, [] {
                           TestModelOptions o;
                           o.qk_norm = true;
                           o.llama3_rope = true;
                           o.bias = true;
                           return o;
                         }()));

// The probe writes layers [0, layer] exactly as forward() does; deeper layers untouched.
TEST(CpuSegmentKv, ProbeWritesTheEarlyLayersAsForwardDoes) {
  TestModelOptions o;
  o.layers = 3;
  const auto m = make_test_model(o);
  auto full = make_backend(m->config, m->weights);
  auto probed = make_backend(m->config, m->weights);
  const auto tokens = random_tokens(24, m->config.vocab_size, 9);
  const std::vector<std::int32_t> table{3, 4};
  prefill(*full, tokens, 0, table);
  BatchPlan plan;
  plan.seqs.push_back({tokens, 0, table, false});
  ASSERT_TRUE(probed->forward_kv_probe(plan, 1).ok());
  const std::size_t tkb = full->token_kv_bytes();
  std::vector<std::byte> a(24 * tkb), b(24 * tkb);
  ASSERT_TRUE(full->read_token_kv(table, 0, 24, a).ok());
  ASSERT_TRUE(probed->read_token_kv(table, 0, 24, b).ok());
  const auto fa = floats(a), fb = floats(b);
  const std::size_t layer_floats = tkb / sizeof(float) / 3;
  double early = 0, late = 0;
  for (std::size_t t = 0; t < 24; ++t) {
    for (std::size_t j = 0; j < 3 * layer_floats; ++j) {
      const std::size_t i = t * 3 * layer_floats + j;
      const double d = std::abs(fa[i] - fb[i]);
      (j < 2 * layer_floats ? early : late) = std::max(j < 2 * layer_floats ? early : late, d);
    }
  }
  EXPECT_LT(early, 1e-6);
  EXPECT_GT(late, 1e-3);  // layer 2 was never computed by the probe
  // Deviation against the full run's own KV is zero at layer 1.
  std::vector<float> dev(24);
  ASSERT_TRUE(probed->token_kv_deviation(table, 0, a, 0, 1, dev).ok());
  for (float d : dev)
    EXPECT_LT(d, 1e-9f);
  ASSERT_TRUE(probed->token_kv_deviation(table, 0, a, 0, 2, dev).ok());
  EXPECT_GT(*std::max_element(dev.begin(), dev.end()), 1e-6f);
}

TEST(CpuSegmentKv, BadRangesAreErrors) {
  const auto m = make_test_model({});
  auto b = make_backend(m->config, m->weights);
  const std::size_t tkb = b->token_kv_bytes();
  std::vector<std::byte> buf(4 * tkb);
  const std::vector<std::int32_t> table{1};
  auto st = b->read_token_kv(table, 14, 4, buf);  // past the one block
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("read_token_kv"), std::string::npos);
  EXPECT_FALSE(b->read_token_kv(table, 0, 3, buf).ok());  // wrong size
  EXPECT_FALSE(b->place_token_kv(std::vector<std::int32_t>{99}, 0, buf, 0).ok());
  EXPECT_FALSE(b->place_token_kv(table, 0, std::span(buf).first(tkb - 1), 0).ok());
  BatchPlan plan;
  plan.seqs.push_back({{1, 2}, 0, table, false});
  EXPECT_FALSE(b->forward_kv_probe(plan, 2).ok());
}

// Anchors' offsets: between the segment's KV in one context and in another, token_kv_offsets
// gives un-rotated differences such that placing the first and adding them gives the
// second (all layers, to f32 rounding); a placed copy differs from its source by nothing.
TEST(CpuSegmentKv, OffsetsTakeAPlacementToTheKvComputedThere) {
  TestModelOptions o;
  o.layers = 3;
  o.qk_norm = true;
  o.llama3_rope = true;
  const auto m = make_test_model(o);
  auto b = make_backend(m->config, m->weights);
  const int V = m->config.vocab_size, L = m->config.num_layers;
  const auto segment = random_tokens(20, V, 5);
  std::vector<std::int32_t> a = random_tokens(11, V, 1), c = random_tokens(37, V, 2);
  a.insert(a.end(), segment.begin(), segment.end());
  c.insert(c.end(), segment.begin(), segment.end());
  const std::vector<std::int32_t> ta{0, 1}, tc{2, 3, 4, 5};
  prefill(*b, a, 0, ta);
  prefill(*b, c, 0, tc);
  const std::size_t tkb = b->token_kv_bytes(), per = b->token_offset_floats(L);
  ASSERT_EQ(per * sizeof(float), tkb);
  std::vector<std::byte> from_a(20 * tkb), truth(20 * tkb), placed(20 * tkb);
  ASSERT_TRUE(b->read_token_kv(ta, 11, 20, from_a).ok());
  ASSERT_TRUE(b->read_token_kv(tc, 37, 20, truth).ok());
  std::vector<float> offsets(20 * per), unrotated(20 * per);
  ASSERT_TRUE(b->token_kv_offsets(tc, 37, from_a, 11, 0, L, offsets, unrotated).ok());
  // Layer 0 depends on the token only: no offset there; deeper layers see the context.
  const std::size_t kv = per / static_cast<std::size_t>(L);
  double layer0 = 0, deeper = 0;
  for (std::size_t t = 0; t < 20; ++t)
    for (std::size_t j = 0; j < per; ++j)
      (j < kv ? layer0 : deeper) =
          std::max(j < kv ? layer0 : deeper, static_cast<double>(std::abs(offsets[t * per + j])));
  EXPECT_LT(layer0, 1e-5);
  EXPECT_GT(deeper, 1e-3);
  // Un-rotated keys are position-free: those of the truth at 37 equal its own offsets'
  // reference frame, so the placed copy plus the offsets is the truth.
  ASSERT_TRUE(b->place_token_kv(tc, 37, from_a, 11).ok());
  ASSERT_TRUE(b->add_token_kv_offsets(tc, 37, 0, L, offsets).ok());
  ASSERT_TRUE(b->read_token_kv(tc, 37, 20, placed).ok());
  const auto want = floats(truth), got = floats(placed);
  double worst = 0;
  for (std::size_t i = 0; i < want.size(); ++i)
    worst = std::max(worst, static_cast<double>(std::abs(got[i] - want[i])));
  EXPECT_LT(worst, 1e-4);
  // Now the KV there is the truth: its offsets from the truth are zero, and a layer range
  // gives that range's slice of the unrotated copy.
  std::vector<float> zero(20 * per), part(20 * b->token_offset_floats(2));
  ASSERT_TRUE(b->token_kv_offsets(tc, 37, truth, 37, 0, L, zero, {}).ok());
  for (float x : zero)
    ASSERT_LT(std::abs(x), 1e-4);
  ASSERT_TRUE(b->token_kv_offsets(tc, 37, from_a, 11, 1, 3, {}, part).ok());
  for (std::size_t t = 0; t < 20; ++t)
    for (std::size_t j = 0; j < 2 * kv; ++j)
      ASSERT_EQ(part[t * 2 * kv + j], unrotated[t * per + kv + j]);
}

TEST(CpuSegmentKv, BadOffsetCallsAreErrors) {
  const auto m = make_test_model({});
  auto b = make_backend(m->config, m->weights);
  const std::size_t tkb = b->token_kv_bytes(), per = b->token_offset_floats(2);
  std::vector<std::byte> in(2 * tkb);
  std::vector<float> out(2 * per);
  const std::vector<std::int32_t> table{1};
  auto st = b->token_kv_offsets(table, 0, in, 0, 1, 3, out, {});  // 2 layers
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("layers [1, 3)"), std::string::npos);
  EXPECT_FALSE(b->token_kv_offsets(table, 0, in, 0, 0, 2, std::span(out).first(3), {}).ok());
  EXPECT_FALSE(b->token_kv_offsets(table, 15, in, 0, 0, 2, out, {}).ok());  // past the block
  EXPECT_FALSE(b->add_token_kv_offsets(table, 0, 2, 1, out).ok());
  EXPECT_FALSE(b->add_token_kv_offsets(table, 0, 0, 2, std::span(out).first(per + 1)).ok());
  EXPECT_FALSE(b->add_token_kv_offsets(table, 15, 0, 2, out).ok());
  EXPECT_TRUE(b->add_token_kv_offsets(table, 0, 0, 2, out).ok());
}

}  // namespace
}  // namespace agentrt::cpu
