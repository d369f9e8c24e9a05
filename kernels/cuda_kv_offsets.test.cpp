// KVCOMM's anchor offsets on the CUDA backend (token_kv_offsets, add_token_kv_offsets)
// against the CPU backend given the same KV: a copy placed elsewhere has offsets ~0 and
// un-rotates to what the CPU un-rotates it to, offsets between two contexts match, added
// offsets read back and leave the pool as the CPU's add does, bad layers and sizes are errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/cpu/cpu_backend.h"
#include "engine/cpu/test_model.h"
#include "engine/model/dtype.h"
#include "kernels/cuda_backend.h"
#include "kernels/test_util.h"

namespace agentrt::kernels {
namespace {

using cpu::testing::make_test_model;
using cpu::testing::random_tokens;
using cpu::testing::TestModel;
using cpu::testing::TestModelOptions;

constexpr int kLayers = 3;

std::unique_ptr<TestModel> model() {
  TestModelOptions o;
  o.layers = kLayers;
  o.qk_norm = true;
  o.llama3_rope = true;
  o.bias = true;
  return make_test_model(o);
}

std::unique_ptr<CudaBackend> cuda(const TestModel& m, Dtype dt) {
  auto b = CudaBackend::create(m.config, m.weights, {64, 16, dt, 0});
  EXPECT_TRUE(b.ok()) << (b.ok() ? "" : b.error().to_string());
  return b.ok() ? std::move(b).value() : nullptr;
}

std::unique_ptr<cpu::CpuBackend> host(const TestModel& m) {
  auto b = cpu::CpuBackend::create(m.config, m.weights, {64, 16, 1});
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

std::vector<std::byte> read(Backend& b, const std::vector<std::int32_t>& table, int begin,
                            int count) {
  std::vector<std::byte> out(static_cast<std::size_t>(count) * b.token_kv_bytes());
  const Status st = b.read_token_kv(table, begin, count, out);
  EXPECT_TRUE(st.ok()) << st.error().to_string();
  return out;
}

std::vector<float> as_floats(const std::vector<std::byte>& bytes, Dtype dt) {
  std::vector<float> f(bytes.size() / dtype_bytes(dt));
  if (dt == Dtype::f32) {
    std::memcpy(f.data(), bytes.data(), bytes.size());
    return f;
  }
  for (std::size_t i = 0; i < f.size(); ++i) {
    std::uint16_t v;
    std::memcpy(&v, bytes.data() + 2 * i, 2);
    f[i] = model::bf16_to_f32(v);
  }
  return f;
}

// Token KV in `dt` as the CPU backend takes it (f32).
std::vector<std::byte> as_f32(const std::vector<std::byte>& bytes, Dtype dt) {
  const auto f = as_floats(bytes, dt);
  std::vector<std::byte> out(f.size() * sizeof(float));
  std::memcpy(out.data(), f.data(), out.size());
  return out;
}

// max |a - b| / max(1, max |b|).
double worst(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double w = 0, scale = 1;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    w = std::max(w, static_cast<double>(std::abs(a[i] - b[i])));
    scale = std::max(scale, static_cast<double>(std::abs(b[i])));
  }
  return w / scale;
}

double max_abs(const std::vector<float>& v) {
  double m = 0;
  for (const float x : v)
    m = std::max(m, static_cast<double>(std::abs(x)));
  return m;
}

struct Offsets {
  std::vector<float> offsets, unrotated;
};

Offsets offsets_of(Backend& b, const std::vector<std::int32_t>& table, int begin,
                   const std::vector<std::byte>& in, int source_begin, int first, int last) {
  const std::size_t n = in.size() / b.token_kv_bytes() * b.token_offset_floats(last - first);
  Offsets o{std::vector<float>(n), std::vector<float>(n)};
  const Status st =
      b.token_kv_offsets(table, begin, in, source_begin, first, last, o.offsets, o.unrotated);
  EXPECT_TRUE(st.ok()) << st.error().to_string();
  return o;
}

// Copies `g`'s KV at positions [begin, begin + count) of `table` into the same positions of
// `c` (f32, not rotated), so that `c` answers for the same pool.
void mirror(CudaBackend& g, cpu::CpuBackend& c, const std::vector<std::int32_t>& table, int begin,
            int count) {
  const auto kv = as_f32(read(g, table, begin, count), g.dtype());
  ASSERT_TRUE(c.place_token_kv(table, begin, kv, begin).ok());
}

// The CPU backend's token_kv_offsets() of `g`'s pool and `in`.
Offsets cpu_offsets(CudaBackend& g, cpu::CpuBackend& c, const std::vector<std::int32_t>& table,
                    int begin, const std::vector<std::byte>& in, int source_begin, int first,
                    int last) {
  const auto in32 = as_f32(in, g.dtype());
  const auto count = static_cast<int>(in32.size() / c.token_kv_bytes());
  mirror(g, c, table, begin, count);
  return offsets_of(c, table, begin, in32, source_begin, first, last);
}

std::vector<float> slice_layers(const std::vector<float>& v, std::size_t per_layer, int layers,
                                int first, int last) {
  std::vector<float> out;
  for (std::size_t t = 0; t * per_layer * layers < v.size(); ++t) {
    const auto from = v.begin() + static_cast<std::ptrdiff_t>((t * layers + first) * per_layer);
    out.insert(out.end(), from, from + static_cast<std::ptrdiff_t>((last - first) * per_layer));
  }
  return out;
}

double placed_tolerance(Dtype dt) {
  return dt == Dtype::f32 ? 1e-4 : 2e-2;  // bf16: the placed keys were rounded once more
}

// A segment computed at 7 and placed at 101: its offsets there are ~0, and both report the
// same un-rotated KV as the CPU backend; a layer range gives that range of the whole.
TEST(CudaKvOffsets, PlacedCopyHasNoOffsetAndUnrotatesAsTheCpu) {
  AGENTRT_REQUIRE_CUDA_DEVICE();
  const auto m = model();
  for (const Dtype dt : {Dtype::f32, Dtype::bf16}) {
    SCOPED_TRACE(dt == Dtype::f32 ? "f32" : "bf16");
    auto g = cuda(*m, dt);
    auto c = host(*m);
    ASSERT_TRUE(g && c);
    const std::vector<std::int32_t> table{5, 9, 2}, other{11, 12, 13, 14, 15, 16, 17, 18, 19};
    prefill(*g, random_tokens(45, m->config.vocab_size, 3), table);
    const auto kv = read(*g, table, 7, 30);
    ASSERT_TRUE(g->place_token_kv(other, 101, kv, 7).ok());
    const Offsets got = offsets_of(*g, other, 101, kv, 7, 0, kLayers);
    const Offsets want = cpu_offsets(*g, *c, other, 101, kv, 7, 0, kLayers);
    EXPECT_LT(worst(got.unrotated, want.unrotated), 1e-5);
    EXPECT_LT(worst(got.offsets, want.offsets), 1e-5);
    EXPECT_LT(max_abs(got.offsets) / std::max(1.0, max_abs(got.unrotated)), placed_tolerance(dt));
    // Token KV of every layer has the outputs' layout: the keys moved, the values did not.
    EXPECT_GT(worst(got.unrotated, as_floats(kv, dt)), 1e-2) << "keys must be un-rotated";
    // Layers [1, 3), each output alone: the same floats as the whole.
    const std::size_t per_layer = g->token_offset_floats(1);
    const std::size_t n = 30 * g->token_offset_floats(2);
    std::vector<float> off(n), unr(n);
    ASSERT_TRUE(g->token_kv_offsets(other, 101, kv, 7, 1, 3, off, {}).ok());
    ASSERT_TRUE(g->token_kv_offsets(other, 101, kv, 7, 1, 3, {}, unr).ok());
    EXPECT_EQ(off, slice_layers(got.offsets, per_layer, kLayers, 1, 3));
    EXPECT_EQ(unr, slice_layers(got.unrotated, per_layer, kLayers, 1, 3));
  }
}

// The KV of one context measured against another's at other positions: what the CPU gives.
TEST(CudaKvOffsets, OffsetsBetweenTwoContextsMatchTheCpu) {
  AGENTRT_REQUIRE_CUDA_DEVICE();
  const auto m = model();
  const int V = m->config.vocab_size;
  for (const Dtype dt : {Dtype::f32, Dtype::bf16}) {
    SCOPED_TRACE(dt == Dtype::f32 ? "f32" : "bf16");
    auto g = cuda(*m, dt);
    auto c = host(*m);
    ASSERT_TRUE(g && c);
    const std::vector<std::int32_t> ta{5, 9, 2}, tb{20, 21, 22, 23};
    prefill(*g, random_tokens(45, V, 3), ta);
    prefill(*g, random_tokens(60, V, 8), tb);
    const auto kv = read(*g, ta, 7, 30);
    const Offsets got = offsets_of(*g, tb, 19, kv, 7, 0, kLayers);
    const Offsets want = cpu_offsets(*g, *c, tb, 19, kv, 7, 0, kLayers);
    EXPECT_LT(worst(got.offsets, want.offsets), 1e-5);
    EXPECT_LT(worst(got.unrotated, want.unrotated), 1e-5);
    EXPECT_GT(max_abs(want.offsets), 1e-2) << "the contexts differ";
  }
}

// Offsets added at a placed copy read back as themselves, change only their layers and
// positions, and leave the pool as the CPU's add leaves the same pool.
TEST(CudaKvOffsets, AddedOffsetsReadBack) {
  AGENTRT_REQUIRE_CUDA_DEVICE();
  const auto m = model();
  for (const Dtype dt : {Dtype::f32, Dtype::bf16}) {
    SCOPED_TRACE(dt == Dtype::f32 ? "f32" : "bf16");
    auto g = cuda(*m, dt);
    auto c = host(*m);
    ASSERT_TRUE(g && c);
    const std::vector<std::int32_t> table{5, 9, 2}, other{11, 12, 13, 14, 15, 16, 17, 18, 19};
    prefill(*g, random_tokens(45, m->config.vocab_size, 3), table);
    const auto kv = read(*g, table, 7, 30);
    ASSERT_TRUE(g->place_token_kv(other, 101, kv, 7).ok());
    const Offsets before = offsets_of(*g, other, 101, kv, 7, 1, 3);
    const auto pool_before = read(*g, other, 100, 32);
    mirror(*g, *c, other, 100, 32);
    const float scale = static_cast<float>(std::max(1.0, max_abs(before.unrotated)));
    const auto delta = test::random_vector(before.offsets.size(), 17, -0.3f * scale, 0.3f * scale);
    ASSERT_TRUE(g->add_token_kv_offsets(other, 101, 1, 3, delta).ok());
    ASSERT_TRUE(c->add_token_kv_offsets(other, 101, 1, 3, delta).ok());
    const Offsets after = offsets_of(*g, other, 101, kv, 7, 1, 3);
    std::vector<float> added(delta.size());
    for (std::size_t i = 0; i < added.size(); ++i)
      added[i] = after.offsets[i] - before.offsets[i];
    EXPECT_LT(worst(added, delta), placed_tolerance(dt));
    // The pool against the CPU's, and untouched outside positions [101, 131) and layers 1-2.
    EXPECT_LT(worst(as_floats(read(*g, other, 101, 30), dt),
                    as_floats(read(*c, other, 101, 30), Dtype::f32)),
              dt == Dtype::f32 ? 1e-5 : 1e-2);
    const auto pool_after = read(*g, other, 100, 32);
    const std::size_t tkb = g->token_kv_bytes(), layer_bytes = tkb / kLayers;
    for (std::size_t t = 0; t < 32; ++t) {
      const auto* b = pool_before.data() + t * tkb;
      const auto* a = pool_after.data() + t * tkb;
      const std::size_t same = t == 0 || t == 31 ? tkb : layer_bytes;  // layer 0 only
      EXPECT_EQ(std::memcmp(a, b, same), 0) << "token " << t;
    }
  }
}

void expect_invalid(const Status& st, const char* what, const char* mention) {
  ASSERT_FALSE(st.ok()) << what;
  EXPECT_EQ(st.error().code, ErrorCode::invalid_argument) << st.error().to_string();
  EXPECT_NE(st.error().message.find(what), std::string::npos) << st.error().to_string();
  EXPECT_NE(st.error().message.find(mention), std::string::npos) << st.error().to_string();
}

TEST(CudaKvOffsets, BadLayersSizesAndPositionsAreErrors) {
  AGENTRT_REQUIRE_CUDA_DEVICE();
  const auto m = model();
  auto g = cuda(*m, Dtype::bf16);
  ASSERT_TRUE(g);
  const std::size_t tkb = g->token_kv_bytes(), per = g->token_offset_floats(kLayers);
  const std::vector<std::byte> in(4 * tkb);
  const std::vector<std::int32_t> table{1};
  std::vector<float> out(4 * per), odd(4 * per + 1);
  const char* offs = "token_kv_offsets";
  for (const auto& [first, last] : {std::pair{-1, 2}, {2, 1}, {0, kLayers + 1}}) {
    expect_invalid(g->token_kv_offsets(table, 0, in, 0, first, last, out, {}), offs, "layers");
    expect_invalid(g->add_token_kv_offsets(table, 0, first, last, out), "add_token_kv_offsets",
                   "layers");
  }
  expect_invalid(g->token_kv_offsets(table, 0, std::span(in).first(tkb - 1), 0, 0, 3, {}, {}), offs,
                 std::to_string(tkb - 1).c_str());
  expect_invalid(g->token_kv_offsets(table, 0, in, 0, 0, 3, odd, {}), offs,
                 std::to_string(odd.size()).c_str());
  expect_invalid(g->token_kv_offsets(table, 0, in, 0, 0, 3, {}, odd), offs,
                 std::to_string(odd.size()).c_str());
  expect_invalid(g->token_kv_offsets(table, 0, in, 0, 1, 3, out, {}), offs,
                 std::to_string(out.size()).c_str());  // sized for 3 layers, not 2
  expect_invalid(g->token_kv_offsets(table, 14, in, 0, 0, 3, out, {}), offs, "positions");
  expect_invalid(g->token_kv_offsets(std::vector<std::int32_t>{99}, 0, in, 0, 0, 3, out, out), offs,
                 "99");
  expect_invalid(g->add_token_kv_offsets(table, 0, 0, 3, odd), "add_token_kv_offsets",
                 std::to_string(odd.size()).c_str());
  expect_invalid(g->add_token_kv_offsets(table, 14, 0, 3, out), "add_token_kv_offsets",
                 "positions");
  // No tokens, no layers or no outputs: nothing to do.
  EXPECT_TRUE(g->token_kv_offsets(table, 0, {}, 0, 0, 3, {}, {}).ok());
  EXPECT_TRUE(g->token_kv_offsets(table, 0, in, 0, 2, 2, {}, {}).ok());
  EXPECT_TRUE(g->token_kv_offsets(table, 0, in, 0, 0, 3, {}, {}).ok());
  EXPECT_TRUE(g->add_token_kv_offsets(table, 0, 0, 3, {}).ok());
  EXPECT_TRUE(g->add_token_kv_offsets(table, 0, 1, 1, {}).ok());
}

}  // namespace
}  // namespace agentrt::kernels
