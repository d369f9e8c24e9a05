#include "engine/kv/segment_cache.h"

#include <gtest/gtest.h>

namespace agentrt::kv {
namespace {

SegmentEntry entry(std::int32_t first, int n, std::int32_t position, std::size_t kv_bytes) {
  SegmentEntry e;
  for (int i = 0; i < n; ++i)
    e.tokens.push_back(first + i);
  e.position = position;
  e.kv.assign(kv_bytes, std::byte{static_cast<unsigned char>(first)});
  return e;
}

TEST(SegmentCache, FindsByTokensAndKeepsThePosition) {
  SegmentCache cache(1 << 20, "model|layout");
  EXPECT_TRUE(cache.insert(entry(10, 5, 7, 100)));
  const std::vector<std::int32_t> t{10, 11, 12, 13, 14};
  auto hit = cache.find(t);
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(hit->position, 7);
  EXPECT_EQ(hit->kv.size(), 100u);
  EXPECT_EQ(cache.find(std::vector<std::int32_t>{10, 11, 12, 13}), nullptr);
  EXPECT_EQ(cache.find(std::vector<std::int32_t>{10, 11, 12, 13, 15}), nullptr);
  const auto s = cache.stats();
  EXPECT_EQ(s.lookups, 3);
  EXPECT_EQ(s.hits, 1);
  EXPECT_EQ(s.entries, 1);
  EXPECT_EQ(s.bytes, static_cast<std::int64_t>(100 + 5 * sizeof(std::int32_t)));
}

TEST(SegmentCache, FingerprintSeparatesModels) {
  SegmentCache a(1 << 20, "model-a|cpu"), b(1 << 20, "model-b|cpu");
  ASSERT_TRUE(a.insert(entry(1, 4, 0, 8)));
  ASSERT_TRUE(b.insert(entry(1, 4, 3, 8)));
  const std::vector<std::int32_t> t{1, 2, 3, 4};
  EXPECT_EQ(a.find(t)->position, 0);
  EXPECT_EQ(b.find(t)->position, 3);
}

TEST(SegmentCache, EvictsLeastRecentlyUsedToStayUnderItsCap) {
  const std::size_t one = 100 + 4 * sizeof(std::int32_t);
  SegmentCache cache(3 * one, "m");
  ASSERT_TRUE(cache.insert(entry(0, 4, 0, 100)));
  ASSERT_TRUE(cache.insert(entry(10, 4, 0, 100)));
  ASSERT_TRUE(cache.insert(entry(20, 4, 0, 100)));
  auto held = cache.find(std::vector<std::int32_t>{0, 1, 2, 3});  // 0 is now most recent
  ASSERT_NE(held, nullptr);
  ASSERT_TRUE(cache.insert(entry(30, 4, 0, 100)));  // evicts 10, the least recent
  EXPECT_EQ(cache.find(std::vector<std::int32_t>{10, 11, 12, 13}), nullptr);
  EXPECT_NE(cache.find(std::vector<std::int32_t>{20, 21, 22, 23}), nullptr);
  EXPECT_NE(cache.find(std::vector<std::int32_t>{30, 31, 32, 33}), nullptr);
  EXPECT_LE(cache.stats().bytes, static_cast<std::int64_t>(3 * one));
  EXPECT_EQ(cache.stats().evictions, 1);
  // Too large for the cap: refused, nothing evicted.
  EXPECT_FALSE(cache.insert(entry(40, 4, 0, 4 * one)));
  EXPECT_EQ(cache.stats().entries, 3);
  // An entry evicted while held stays readable by its holder.
  ASSERT_TRUE(cache.insert(entry(50, 4, 0, 2 * one)));
  EXPECT_EQ(held->kv.size(), 100u);
}

TEST(SegmentCache, ReplacingAnEntryKeepsTheByteCount) {
  SegmentCache cache(1 << 20, "m");
  ASSERT_TRUE(cache.insert(entry(0, 4, 0, 100)));
  ASSERT_TRUE(cache.insert(entry(0, 4, 9, 100)));
  EXPECT_EQ(cache.stats().entries, 1);
  EXPECT_EQ(cache.stats().bytes, static_cast<std::int64_t>(100 + 4 * sizeof(std::int32_t)));
  EXPECT_EQ(cache.find(std::vector<std::int32_t>{0, 1, 2, 3})->position, 9);
  cache.count_use(12, 3);
  EXPECT_EQ(cache.stats().tokens_reused, 12);
  EXPECT_EQ(cache.stats().tokens_recomputed, 3);
}

}  // namespace
}  // namespace agentrt::kv
