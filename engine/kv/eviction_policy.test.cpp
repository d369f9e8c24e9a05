// Unit tests of eviction order (LRU within steps-to-next-use), the reuse hints and their
// path through the block pool.
#include "engine/kv/eviction_policy.h"

#include <gtest/gtest.h>

#include <numeric>

#include "engine/kv/block_pool.h"
#include "engine/kv/reuse_hints.h"

namespace agentrt::kv {
namespace {

TimePoint at(int s) {
  return TimePoint(std::chrono::seconds(s));
}

BlockKey key(std::uint64_t n) {
  return BlockKey{n, n * 31};
}

TEST(LruEvictionPolicy, WithoutHintsEvictsLeastRecentlyUsed) {
  LruEvictionPolicy p;
  p.add(1, at(3));
  p.add(2, at(1));
  p.add(3, at(2));
  EXPECT_EQ(p.victim(), 2);
  p.remove(2);
  EXPECT_EQ(p.victim(), 3);
  EXPECT_EQ(p.size(), 2u);
}

TEST(LruEvictionPolicy, EvictsFarthestNextUseFirstThenLru) {
  LruEvictionPolicy p;
  p.set_next_use(1, 0);  // hinted before it is evictable: kept with the block
  p.add(1, at(0));       // oldest, but next used now
  p.add(2, at(5));       // unhinted: far
  p.add(3, at(1));
  p.add(4, at(2));
  p.set_next_use(3, 2);
  p.set_next_use(4, 2);
  EXPECT_EQ(p.victim(), 2);  // no hint counts as farthest
  p.remove(2);
  EXPECT_EQ(p.victim(), 3);  // steps 2 and 2: the least recently used
  p.set_next_use(3, 1);      // re-filed as nearer
  EXPECT_EQ(p.victim(), 4);
  p.remove(4);
  EXPECT_EQ(p.victim(), 3);
  p.remove(3);
  EXPECT_EQ(p.victim(), 1);
  EXPECT_EQ(p.next_use(1), 0);
  p.set_next_use(1, kFarNextUse);
  EXPECT_EQ(p.next_use(1), kFarNextUse);
}

TEST(ReuseHints, KeyTakesTheLeastHintOverItsOwners) {
  ReuseHints h;
  const std::vector<BlockKey> shared{key(1), key(2)}, mine{key(1), key(3)};
  auto c = h.set(10, shared, 4);
  EXPECT_EQ(c.size(), 2u);
  c = h.set(11, mine, 1);  // key 1 drops to 1, key 3 new; key 2 unchanged
  EXPECT_EQ(c.size(), 2u);
  EXPECT_EQ(h.next_use(key(1)), 1);
  EXPECT_EQ(h.next_use(key(2)), 4);
  EXPECT_EQ(h.next_use(key(9)), kFarNextUse);
  c = h.set(11, mine, 6);  // replaces owner 11: key 1 back to 4 (owner 10), key 3 to 6
  EXPECT_EQ(c.size(), 2u);
  EXPECT_EQ(h.next_use(key(1)), 4);
  EXPECT_EQ(h.next_use(key(3)), 6);
  c = h.clear(10);
  EXPECT_EQ(h.next_use(key(1)), 6);
  EXPECT_EQ(h.next_use(key(2)), kFarNextUse);
  EXPECT_EQ(c.size(), 2u);
  h.clear(11);
  h.clear(12);  // unknown: no-op
  EXPECT_EQ(h.owners(), 0u);
  EXPECT_EQ(h.keys(), 0u);
}

TEST(BlockPool, HintsReachCachedBlocksAndBlocksSealedLater) {
  BlockPool pool(4, make_lru_policy());
  const std::vector<std::int32_t> toks{1, 2, 3, 4};
  // Cache two blocks, the one with key 1 used longest ago.
  for (std::uint64_t k : {1u, 2u}) {
    auto id = pool.take_free(at(static_cast<int>(k)));
    ASSERT_TRUE(id);
    pool.seal(*id, key(k), toks);
    pool.unref(*id, at(static_cast<int>(k)));
  }
  EXPECT_EQ(pool.block(*pool.victim()).key, key(1));
  const std::vector<BlockKey> soon{key(1), key(3)};
  pool.hint(7, soon, 1);
  EXPECT_EQ(pool.block(*pool.victim()).key, key(2));
  EXPECT_EQ(pool.victim_next_use(), kFarNextUse);
  // Key 3 is sealed after the hint: it carries it.
  auto id = pool.take_free(at(3));
  pool.seal(*id, key(3), toks);
  pool.unref(*id, at(3));
  pool.reclaim(*pool.victim());  // key 2
  EXPECT_EQ(pool.victim_next_use(), 1);
  EXPECT_EQ(pool.block(*pool.victim()).key, key(1));  // both at 1: least recently used
  pool.clear_hint(7);
  EXPECT_EQ(pool.victim_next_use(), kFarNextUse);
  // A reclaimed block forgets its hint: reused for other content, it starts far.
  pool.hint(8, soon, 0);
  const std::int32_t v = *pool.victim();
  pool.reclaim(v);
  auto again = pool.take_free(at(9));
  ASSERT_EQ(again, v);
  pool.seal(*again, key(5), toks);
  pool.unref(*again, at(9));
  EXPECT_EQ(pool.block(*pool.victim()).key, key(5));
}

}  // namespace
}  // namespace agentrt::kv
