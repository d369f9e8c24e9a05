// SegmentAnchors (issue 21): an anchor's own tokens predict its own offsets; too few anchors
// or a novel change of context ask for a recording; the pool keeps to its caps.
#include "engine/kv/segment_anchors.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace agentrt::kv {
namespace {

constexpr int kLayers = 3;
constexpr std::size_t kDim = 8, kStride = kLayers * kDim;

struct Segment {
  std::vector<float> first, offsets;
};

Segment random_segment(std::size_t tokens, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> n;
  Segment s{std::vector<float>(tokens * kStride), std::vector<float>(tokens * kStride)};
  for (auto& x : s.first)
    x = n(rng);
  for (auto& x : s.offsets)
    x = n(rng);
  return s;
}

// The layers after the probe layer of `s`'s offsets: what predict() writes.
std::vector<float> predicted_part(const Segment& s) {
  std::vector<float> out;
  for (std::size_t t = 0; t < s.offsets.size() / kStride; ++t)
    out.insert(out.end(), s.offsets.begin() + static_cast<std::ptrdiff_t>(t * kStride + kDim),
               s.offsets.begin() + static_cast<std::ptrdiff_t>((t + 1) * kStride));
  return out;
}

TEST(SegmentAnchors, AnAnchorsOwnTokensPredictItsOwnOffsets) {
  AnchorOptions o;
  o.neighbours = 1;
  SegmentAnchors pool(kLayers, kDim, o);
  std::vector<Segment> segs;
  for (std::uint64_t i = 0; i < 3; ++i) {
    segs.push_back(random_segment(5 + i, i));
    pool.record(segs.back().first, segs.back().offsets);
  }
  EXPECT_EQ(pool.stats().anchors, 3);
  EXPECT_EQ(pool.stats().tokens, 18);
  std::vector<float> out(6 * (kLayers - 1) * kDim);
  ASSERT_EQ(pool.predict(segs[1].first, segs[1].offsets, out), AnchorPrediction::predicted);
  const auto want = predicted_part(segs[1]);
  for (std::size_t i = 0; i < want.size(); ++i)
    ASSERT_NEAR(out[i], want[i], 1e-5f) << i;
  EXPECT_EQ(pool.stats().predicted_segments, 1);
  EXPECT_EQ(pool.stats().predicted_tokens, 6);
  // With k = 8 the prediction is a mean over 8 tokens of 18: not one anchor's offsets.
  o.neighbours = 8;
  SegmentAnchors wide(kLayers, kDim, o);
  for (const auto& s : segs)
    wide.record(s.first, s.offsets);
  ASSERT_EQ(wide.predict(segs[1].first, segs[1].offsets, out), AnchorPrediction::predicted);
  double diff = 0;
  for (std::size_t i = 0; i < want.size(); ++i)
    diff = std::max(diff, static_cast<double>(std::abs(out[i] - want[i])));
  EXPECT_GT(diff, 0.1);
}

TEST(SegmentAnchors, TooFewAnchorsOrANovelContextAskForARecording) {
  SegmentAnchors pool(kLayers, kDim, {});  // min_anchors 3, novelty 0.1
  const auto s = random_segment(4, 1);
  std::vector<float> out(4 * (kLayers - 1) * kDim, 7.0f);
  EXPECT_EQ(pool.predict(s.first, s.offsets, out), AnchorPrediction::record);
  EXPECT_TRUE(std::isinf(pool.novelty(std::vector<float>(kDim, 1.0f))));
  for (std::uint64_t i = 0; i < 2; ++i) {
    const auto a = random_segment(4, 10 + i);
    pool.record(a.first, a.offsets);
  }
  EXPECT_EQ(pool.predict(s.first, s.offsets, out), AnchorPrediction::record);  // 2 anchors of 3
  pool.record(s.first, s.offsets);
  EXPECT_EQ(pool.predict(s.first, s.offsets, out),
            AnchorPrediction::predicted);  // its own probe offsets: novelty 0
  // Probe offsets far from every anchor's: a change of context not seen yet.
  auto far = s;
  for (std::size_t t = 0; t < 4; ++t)
    for (std::size_t j = 0; j < kDim; ++j)
      far.offsets[t * kStride + j] = 100.0f + static_cast<float>(j);
  EXPECT_GT(pool.novelty(std::vector<float>(far.offsets.begin(), far.offsets.begin() + kDim)), 0.1);
  EXPECT_EQ(pool.predict(far.first, far.offsets, out), AnchorPrediction::record);
}

// A placement over a cap could never be held: predict() says none rather than record
// (the engine then places it as CacheBlend alone instead of computing it in full for
// nothing), with an empty pool and when novel alike; it is still predicted when it can be.
TEST(SegmentAnchors, APlacementOverTheCapsIsNeverAskedToBeRecorded) {
  AnchorOptions o;
  o.max_tokens = 6;
  SegmentAnchors pool(kLayers, kDim, o);
  const auto big = random_segment(8, 3);
  std::vector<float> out(8 * (kLayers - 1) * kDim, 7.0f);
  EXPECT_FALSE(pool.fits(8));
  EXPECT_TRUE(pool.fits(6));
  EXPECT_EQ(pool.predict(big.first, big.offsets, out), AnchorPrediction::none);
  const auto a = random_segment(4, 20);
  pool.record(a.first, a.offsets);
  EXPECT_EQ(pool.stats().anchors, 1);
  auto far = big;
  for (std::size_t t = 0; t < 8; ++t)
    for (std::size_t j = 0; j < kDim; ++j)
      far.offsets[t * kStride + j] = 100.0f + static_cast<float>(j);
  EXPECT_EQ(pool.predict(far.first, far.offsets, out), AnchorPrediction::none);
  EXPECT_EQ(out[0], 7.0f);  // only a prediction writes
  auto near = big;          // the anchor's own probe offsets, repeated: novelty 0
  for (std::size_t t = 0; t < 8; ++t)
    std::copy_n(a.offsets.begin() + static_cast<std::ptrdiff_t>((t % 4) * kStride), kDim,
                near.offsets.begin() + static_cast<std::ptrdiff_t>(t * kStride));
  EXPECT_EQ(pool.predict(near.first, near.offsets, out), AnchorPrediction::predicted);
  pool.record(big.first, big.offsets);  // over the cap: not kept
  EXPECT_EQ(pool.stats().anchors, 1);
}

TEST(SegmentAnchors, KeepsToItsCapsOldestFirst) {
  AnchorOptions o;
  o.max_tokens = 10;
  o.min_anchors = 1;
  o.neighbours = 1;
  SegmentAnchors pool(kLayers, kDim, o);
  const auto a = random_segment(4, 1), b = random_segment(4, 2), c = random_segment(4, 3);
  pool.record(a.first, a.offsets);
  pool.record(b.first, b.offsets);
  pool.record(c.first, c.offsets);  // 12 > 10 tokens: a goes
  EXPECT_EQ(pool.stats().tokens, 8);
  EXPECT_EQ(pool.stats().evicted, 1);
  EXPECT_EQ(pool.stats().bytes, static_cast<std::int64_t>(2 * 8 * kStride * sizeof(float)));
  std::vector<float> out(4 * (kLayers - 1) * kDim);
  ASSERT_EQ(pool.predict(c.first, c.offsets, out), AnchorPrediction::predicted);
  const auto want = predicted_part(c);
  for (std::size_t i = 0; i < want.size(); ++i)
    ASSERT_NEAR(out[i], want[i], 1e-5f);
  // A segment over the caps is not kept; the bytes cap evicts as the tokens cap does.
  pool.record(random_segment(11, 4).first, random_segment(11, 4).offsets);
  EXPECT_EQ(pool.stats().recorded, 3);
  o.max_tokens = 100;
  o.capacity_bytes = 5 * kStride * 2 * sizeof(float);
  SegmentAnchors small(kLayers, kDim, o);
  small.record(a.first, a.offsets);
  small.record(b.first, b.offsets);
  EXPECT_EQ(small.stats().anchors, 1);
  EXPECT_EQ(small.stats().tokens, 4);
}

}  // namespace
}  // namespace agentrt::kv
