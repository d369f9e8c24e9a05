// The CUDA backend's DeviceAnchorPool against the HostAnchorPool (kv::SegmentAnchors fed
// through token_kv_offsets) on the same backend and the same KV: the same decisions and
// counters, and the same KV once each has added its predicted offsets; with the segment's
// device copy or staged from the host, after evictions, in f32 and bf16; bad sizes are
// errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <iostream>

#include "engine/cpu/test_model.h"
#include "engine/host_anchor_pool.h"
#include "engine/model/dtype.h"
#include "kernels/cuda_backend.h"
#include "kernels/test_util.h"

namespace agentrt::kernels {
namespace {

using cpu::testing::make_test_model;
using cpu::testing::random_tokens;
using cpu::testing::TestModelOptions;

constexpr int kLayers = 4;
constexpr int kSeg = 20;    // segment tokens
constexpr int kSource = 3;  // where the segment was first computed

struct Fixture {
  std::unique_ptr<cpu::testing::TestModel> model;
  std::unique_ptr<CudaBackend> backend;
  std::vector<std::int32_t> segment;
  std::vector<std::byte> segment_kv;  // its KV at kSource, as read back
  int next_block = 0;
};

std::vector<std::int32_t> blocks(Fixture& s, int n) {
  std::vector<std::int32_t> t(static_cast<std::size_t>(n));
  for (auto& b : t)
    b = s.next_block++;
  return t;
}

// Computes `prefix` then the segment on a new table; returns the table.
std::vector<std::int32_t> context(Fixture& s, std::size_t prefix, std::uint64_t seed) {
  auto tokens = random_tokens(prefix, s.model->config.vocab_size, seed);
  tokens.insert(tokens.end(), s.segment.begin(), s.segment.end());
  auto table = blocks(s, 3);
  BatchPlan plan;
  plan.seqs.push_back({tokens, 0, table, false});
  Logits out;
  EXPECT_TRUE(s.backend->forward(plan, out).ok());
  return table;
}

// `hidden`: 32 gives head_dim 8 (the kernels' element-wise path), 64 head_dim 16 (rows of 8).
Fixture setup(Dtype dt, int hidden = 32) {
  Fixture s;
  TestModelOptions o;
  o.layers = kLayers;
  o.hidden = hidden;
  o.qk_norm = true;
  o.llama3_rope = true;
  s.model = make_test_model(o);
  auto b = CudaBackend::create(s.model->config, s.model->weights, {128, 16, dt, 0});
  EXPECT_TRUE(b.ok()) << (b.ok() ? "" : b.error().to_string());
  if (!b.ok()) return s;
  s.backend = std::move(b).value();
  s.segment = random_tokens(kSeg, s.model->config.vocab_size, 99);
  const auto first = context(s, kSource, 1);
  s.segment_kv.resize(kSeg * s.backend->token_kv_bytes());
  EXPECT_TRUE(s.backend->read_segment_kv(7, first, kSource, kSeg, s.segment_kv).ok());
  return s;
}

std::vector<float> kv_at(Fixture& s, const std::vector<std::int32_t>& table, int begin) {
  std::vector<std::byte> bytes(kSeg * s.backend->token_kv_bytes());
  EXPECT_TRUE(s.backend->read_token_kv(table, begin, kSeg, bytes).ok());
  const Dtype dt = s.backend->dtype();
  std::vector<float> f(bytes.size() / dtype_bytes(dt));
  for (std::size_t i = 0; i < f.size(); ++i) {
    if (dt == Dtype::f32) {
      std::memcpy(&f[i], bytes.data() + 4 * i, 4);
    } else {
      std::uint16_t v;
      std::memcpy(&v, bytes.data() + 2 * i, 2);
      f[i] = model::bf16_to_f32(v);
    }
  }
  return f;
}

double worst(const std::vector<float>& a, const std::vector<float>& b) {
  double w = 0, scale = 1;
  for (std::size_t i = 0; i < a.size(); ++i) {
    w = std::max(w, static_cast<double>(std::abs(a[i] - b[i])));
    scale = std::max(scale, static_cast<double>(std::abs(b[i])));
  }
  return w / scale;
}

// Bytes are compared unless `bytes` is false (a device pool without exact_math keeps fewer).
void expect_same_stats(const kv::AnchorStats& a, const kv::AnchorStats& b, bool bytes = true) {
  EXPECT_EQ(a.anchors, b.anchors);
  EXPECT_EQ(a.tokens, b.tokens);
  if (bytes) {
    EXPECT_EQ(a.bytes, b.bytes);
  }
  EXPECT_EQ(a.recorded, b.recorded);
  EXPECT_EQ(a.evicted, b.evicted);
  EXPECT_EQ(a.predicted_segments, b.predicted_segments);
  EXPECT_EQ(a.predicted_tokens, b.predicted_tokens);
}

// ||(a - base) - (b - base)|| / ||b - base||: how far a's change of the KV is from b's.
double change_error(const std::vector<float>& a, const std::vector<float>& b,
                    const std::vector<float>& base) {
  double diff = 0, size = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    size += (double(b[i]) - base[i]) * (double(b[i]) - base[i]);
  }
  return size > 0 ? std::sqrt(diff / size) : 0.0;
}

// Records `anchors` placements (prefixes of 5, 8, ... tokens) into both pools, then places
// the segment after another prefix on two identical tables and lets each pool predict on
// one; the KV must agree: within `tolerance` of the largest value everywhere, or with
// `change` > 0, its change within that relative L2 error of the host pool's.
void predict_alike(Dtype dt, std::uint64_t id, int anchors, const kv::AnchorOptions& opt,
                   double tolerance, double change = 0, int hidden = 32) {
  Fixture s = setup(dt, hidden);
  ASSERT_TRUE(s.backend);
  auto device = s.backend->make_anchor_pool(1, opt);
  ASSERT_TRUE(device);
  HostAnchorPool host(*s.backend, 1, kLayers, opt);
  for (int a = 0; a < anchors; ++a) {
    const int at = 5 + 3 * a;
    const auto table = context(s, static_cast<std::size_t>(at), 10 + static_cast<std::uint64_t>(a));
    const SegmentPlacement p{table, at, s.segment_kv, kSource, id};
    ASSERT_TRUE(device->record(p).ok());
    ASSERT_TRUE(host.record(p).ok());
  }
  expect_same_stats(device->stats(), host.stats(), opt.exact_math);
  // Two placements in a row (the second may reuse the first's products on the device).
  for (const int at : {9, 14}) {
    const auto on_host = context(s, static_cast<std::size_t>(at), 50),
               on_device = context(s, static_cast<std::size_t>(at), 50);
    const auto before = kv_at(s, on_host, at);
    ASSERT_LT(worst(kv_at(s, on_device, at), before), 1e-6);
    const auto h = host.predict({on_host, at, s.segment_kv, kSource, id});
    const auto d = device->predict({on_device, at, s.segment_kv, kSource, id});
    ASSERT_TRUE(h.ok()) << h.error().to_string();
    ASSERT_TRUE(d.ok()) << d.error().to_string();
    ASSERT_EQ(*h, kv::AnchorPrediction::predicted);
    ASSERT_EQ(*d, kv::AnchorPrediction::predicted);
    expect_same_stats(device->stats(), host.stats(), opt.exact_math);
    const auto after_host = kv_at(s, on_host, at), after_device = kv_at(s, on_device, at);
    EXPECT_GT(worst(after_host, before), 10 * tolerance);  // the prediction changed the KV
    if (change > 0) {
      const double e = change_error(after_device, after_host, before);
      std::cout << "[change error] placement at " << at << ": " << e << "\n";
      EXPECT_LT(e, change) << "placement at " << at;
    } else {
      EXPECT_LT(worst(after_device, after_host), tolerance) << "placement at " << at;
    }
  }
}

kv::AnchorOptions always_predict() {
  kv::AnchorOptions o;
  o.novelty = 1e30f;
  o.neighbours = 4;
  o.min_anchors = 3;
  o.exact_math = true;  // the host pool's f32 products and offsets
  return o;
}

TEST(CudaAnchorPool, PredictsWhatTheHostPoolPredictsF32) {
  AGENTRT_REQUIRE_CUDA_DEVICE();
  predict_alike(Dtype::f32, 0, 3, always_predict(), 1e-4);
}

TEST(CudaAnchorPool, PredictsWhatTheHostPoolPredictsBf16FromTheDeviceCopy) {
  AGENTRT_REQUIRE_CUDA_DEVICE();
  predict_alike(Dtype::bf16, 7, 4, always_predict(), 2e-2);
}

TEST(CudaAnchorPool, PredictsWhatTheHostPoolPredictsInRowsOfEight) {
  AGENTRT_REQUIRE_CUDA_DEVICE();
  predict_alike(Dtype::f32, 7, 3, always_predict(), 1e-4, 0, 64);
  predict_alike(Dtype::bf16, 7, 4, always_predict(), 2e-2, 0, 64);
}

// The default TF32 products and bf16 offsets: the same decisions, and the prediction within a
// few percent of the host pool's f32 one (a near tie may pick another neighbour).
TEST(CudaAnchorPool, Tf32ProductsPredictNearlyWhatTheHostPoolPredicts) {
  AGENTRT_REQUIRE_CUDA_DEVICE();
  kv::AnchorOptions o = always_predict();
  o.exact_math = false;
  predict_alike(Dtype::f32, 7, 4, o, 1e-4, 0.05);
}

TEST(CudaAnchorPool, EvictsTheOldestAsTheHostPoolDoes) {
  AGENTRT_REQUIRE_CUDA_DEVICE();
  kv::AnchorOptions o = always_predict();
  o.min_anchors = 1;
  o.max_tokens = 2 * kSeg + kSeg / 2;  // two anchors of kSeg tokens
  predict_alike(Dtype::f32, 7, 5, o, 1e-4);
}

TEST(CudaAnchorPool, ANovelPlacementIsToBeRecordedAndBadSizesAreErrors) {
  AGENTRT_REQUIRE_CUDA_DEVICE();
  Fixture s = setup(Dtype::f32);
  ASSERT_TRUE(s.backend);
  kv::AnchorOptions o;
  o.min_anchors = 1;
  o.novelty = 0.0f;
  auto device = s.backend->make_anchor_pool(1, o);
  HostAnchorPool host(*s.backend, 1, kLayers, o);
  const auto t0 = context(s, 5, 10), t1 = context(s, 11, 11);
  // An empty pool asks for the first anchor.
  for (AnchorPool* pool :
       {static_cast<AnchorPool*>(device.get()), static_cast<AnchorPool*>(&host)}) {
    const auto first = pool->predict({t0, 5, s.segment_kv, kSource, 0});
    ASSERT_TRUE(first.ok());
    EXPECT_EQ(*first, kv::AnchorPrediction::record);
    ASSERT_TRUE(pool->record({t0, 5, s.segment_kv, kSource, 0}).ok());
    const auto novel = pool->predict({t1, 11, s.segment_kv, kSource, 0});
    ASSERT_TRUE(novel.ok());
    EXPECT_EQ(*novel, kv::AnchorPrediction::record);
    const auto odd = std::span<const std::byte>(s.segment_kv).first(s.segment_kv.size() - 1);
    EXPECT_FALSE(pool->predict({t1, 11, odd, kSource, 0}).ok());
    EXPECT_FALSE(pool->record({t1, 11, odd, kSource, 0}).ok());
    EXPECT_FALSE(pool->record({t1, 60, s.segment_kv, kSource, 0}).ok());  // past the table
  }
  expect_same_stats(device->stats(), host.stats(), false);  // fewer bytes a token
  // Too many neighbours for the kernel: no device pool.
  o.neighbours = 1000;
  EXPECT_FALSE(s.backend->make_anchor_pool(1, o));
}

}  // namespace
}  // namespace agentrt::kernels
