#include "engine/kv/segment_cache.h"

#include <gtest/gtest.h>

#include "engine/kv/memory_tier.h"
#include "engine/kv/segment_value.h"

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

// The persistent tier: entries written behind survive the cache (a restart) and are read
// back on a RAM miss; the test layout has kv_bytes / 4 bytes a token.
SegmentStoreOptions store_of(testing::MemoryTier& tier) {
  SegmentStoreOptions o;
  o.tier = &tier;
  o.token_kv_bytes = 25;
  return o;
}

TEST(SegmentCache, EntriesSurviveARestartThroughThePersistentTier) {
  for (const bool thread_safe : {true, false}) {
    testing::MemoryTier tier(thread_safe);
    const std::vector<std::int32_t> t{10, 11, 12, 13};
    {
      SegmentCache first(1 << 20, "m", store_of(tier));
      ASSERT_TRUE(first.insert(entry(10, 4, 7, 100)));
      ASSERT_TRUE(first.flush().ok());
      EXPECT_EQ(first.stats().store_written, 1);
      EXPECT_EQ(tier.size(), 1u);
    }
    SegmentCache other_model(1 << 20, "m2", store_of(tier));
    EXPECT_EQ(other_model.find(t), nullptr);  // keyed by the fingerprint
    SegmentCache again(1 << 20, "m", store_of(tier));
    auto hit = again.find(t);
    ASSERT_NE(hit, nullptr);
    EXPECT_EQ(hit->position, 7);
    EXPECT_EQ(hit->kv, entry(10, 4, 7, 100).kv);
    const auto s = again.stats();
    EXPECT_EQ(s.store_hits, 1);
    EXPECT_EQ(s.hits, 1);
    EXPECT_EQ(s.entries, 1);  // now in RAM: the next find does not read the tier
    const auto gets = tier.gets();
    EXPECT_NE(again.find(t), nullptr);
    EXPECT_EQ(tier.gets(), gets);
    EXPECT_EQ(again.stats().store_written, 0);  // nothing new to write
  }
}

TEST(SegmentCache, ACorruptOrMismatchedStoredSegmentIsRefusedAndRecomputed) {
  testing::MemoryTier tier(false);
  const std::vector<std::int32_t> t{10, 11, 12, 13};
  {
    SegmentCache first(1 << 20, "m", store_of(tier));
    ASSERT_TRUE(first.insert(entry(10, 4, 7, 100)));
    ASSERT_TRUE(first.flush().ok());
  }
  SegmentCache probe(1 << 20, "m", store_of(tier));
  const BlockKey k = probe.key(t);
  auto value = tier.value(k);
  ASSERT_TRUE(value.has_value());
  (*value)[kSegmentHeaderBytes + 30] ^= std::byte{1};
  ASSERT_TRUE(tier.put(k, *value).ok());
  EXPECT_EQ(probe.find(t), nullptr);
  auto s = probe.stats();
  EXPECT_EQ(s.store_rejected, 1);
  EXPECT_NE(s.last_store_error.find("bad checksum"), std::string::npos) << s.last_store_error;
  EXPECT_NE(s.last_store_error.find(k.hex()), std::string::npos) << s.last_store_error;
  EXPECT_FALSE(tier.value(k).has_value());  // erased: never read again
  // The engine recomputes the segment and inserts it: written anew, served again.
  ASSERT_TRUE(probe.insert(entry(10, 4, 7, 100)));
  ASSERT_TRUE(probe.flush().ok());
  SegmentCache later(1 << 20, "m", store_of(tier));
  EXPECT_NE(later.find(t), nullptr);
  // Another KV layout (token KV bytes) under the same key is refused too.
  SegmentStoreOptions wide = store_of(tier);
  wide.token_kv_bytes = 50;
  SegmentCache other_layout(1 << 20, "m", wide);
  EXPECT_EQ(other_layout.find(t), nullptr);
  EXPECT_NE(other_layout.stats().last_store_error.find("layout has 50"), std::string::npos);
}

TEST(SegmentCache, TheTierRespectsTheRamCapAndReportsFailedWrites) {
  testing::MemoryTier tier(false);
  const std::size_t one = 100 + 4 * sizeof(std::int32_t);
  {
    SegmentCache first(1 << 20, "m", store_of(tier));
    for (int i = 0; i < 3; ++i)
      ASSERT_TRUE(first.insert(entry(10 * i, 4, 0, 100)));
    ASSERT_TRUE(first.flush().ok());
  }
  // Room for two: the third read from the tier evicts the least recently used.
  SegmentCache small(2 * one, "m", store_of(tier));
  for (int i = 0; i < 3; ++i)
    EXPECT_NE(small.find(std::vector<std::int32_t>{10 * i, 10 * i + 1, 10 * i + 2, 10 * i + 3}),
              nullptr);
  EXPECT_EQ(small.stats().entries, 2);
  EXPECT_EQ(small.stats().evictions, 1);
  EXPECT_LE(small.stats().bytes, static_cast<std::int64_t>(2 * one));
  // Smaller than one entry: the tier is not even read.
  SegmentCache tiny(one - 1, "m", store_of(tier));
  const auto gets = tier.gets();
  EXPECT_EQ(tiny.find(std::vector<std::int32_t>{0, 1, 2, 3}), nullptr);
  EXPECT_EQ(tier.gets(), gets);
  // A refused write is an error of flush(), counted, and never fails an insert.
  tier.fail_writes(true);
  SegmentCache failing(1 << 20, "m", store_of(tier));
  EXPECT_TRUE(failing.insert(entry(50, 4, 0, 100)));
  const Status flushed = failing.flush();
  ASSERT_FALSE(flushed.ok());
  EXPECT_NE(flushed.error().message.find("1 segments failed to write to 'memory'"),
            std::string::npos)
      << flushed.error().message;
  EXPECT_EQ(failing.stats().store_errors, 1);
  EXPECT_TRUE(failing.flush().ok());  // reported once
}

}  // namespace
}  // namespace agentrt::kv
