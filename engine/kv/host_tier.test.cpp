// Unit tests of the slab host tier: LRU over slots, capacity, demotion to the next tier,
// and the zero-copy access (peek, take, reserve/commit) that block copies use.
#include "engine/kv/host_tier.h"

#include <gtest/gtest.h>

#include "engine/kv/memory_tier.h"

namespace agentrt::kv {
namespace {

constexpr std::size_t kBlock = 64;

BlockKey key(int i) {
  const std::int32_t t = i;
  return chain_key(root_key("fp"), std::span(&t, 1), "fp");
}

std::vector<std::byte> value(int fill, std::size_t n = kBlock) {
  return std::vector<std::byte>(n, static_cast<std::byte>(fill));
}

TEST(HostTier, SlabIsAllocatedUpFrontWhenTheBlockSizeIsKnown) {
  HostTier h(3 * kBlock + 10, nullptr, kBlock);
  EXPECT_EQ(h.slots(), 3u);
  EXPECT_EQ(h.slab().size(), 3 * kBlock);
  HostTier lazy(3 * kBlock);
  EXPECT_TRUE(lazy.slab().empty());
  ASSERT_TRUE(lazy.put(key(1), value(1)).ok());
  EXPECT_EQ(lazy.slab().size(), 3 * kBlock);  // sized by the first put
  EXPECT_EQ(lazy.slot_bytes(), kBlock);
}

TEST(HostTier, EvictsLeastRecentlyUsedWhenFull) {
  HostTier h(3 * kBlock, nullptr, kBlock);
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(h.put(key(i), value(i)).ok());
  ASSERT_TRUE(h.get(key(0)).ok());  // 1 is now the least recent
  ASSERT_TRUE(h.put(key(3), value(3)).ok());
  EXPECT_EQ(h.size(), 3u);
  EXPECT_EQ(h.used_bytes(), 3 * kBlock);
  EXPECT_FALSE(h.get(key(1))->has_value());
  EXPECT_EQ(**h.get(key(0)), value(0));
  EXPECT_EQ(**h.get(key(3)), value(3));
  EXPECT_EQ(h.demoted(), 0);
  // Replacing a key reuses its slot.
  ASSERT_TRUE(h.put(key(3), value(9)).ok());
  EXPECT_EQ(h.size(), 3u);
  EXPECT_EQ(**h.get(key(3)), value(9));
}

TEST(HostTier, DemotesToTheNextTierAndSendsWhatItCannotHoldThere) {
  testing::MemoryTier next;
  HostTier h(2 * kBlock, &next, kBlock);
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(h.put(key(i), value(i)).ok());
  EXPECT_EQ(h.demoted(), 1);
  EXPECT_EQ(next.value(key(0)), value(0));
  ASSERT_TRUE(h.put(key(7), value(7, kBlock + 1)).ok());  // another size: straight to next
  EXPECT_EQ(next.value(key(7)), value(7, kBlock + 1));
  EXPECT_FALSE(h.get(key(7))->has_value());
  HostTier none(kBlock - 1, &next, kBlock);  // no slot at all
  ASSERT_TRUE(none.put(key(8), value(8)).ok());
  EXPECT_EQ(next.value(key(8)), value(8));
  HostTier alone(kBlock - 1, nullptr, kBlock);
  EXPECT_FALSE(alone.put(key(8), value(8)).ok());
}

TEST(HostTier, PeekReadsInPlaceAndCountsAsAUse) {
  HostTier h(2 * kBlock, nullptr, kBlock);
  EXPECT_FALSE(h.peek(key(0)).has_value());
  ASSERT_TRUE(h.put(key(0), value(0)).ok());
  ASSERT_TRUE(h.put(key(1), value(1)).ok());
  auto p = h.peek(key(0));
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(std::vector<std::byte>(p->begin(), p->end()), value(0));
  EXPECT_GE(p->data(), h.slab().data());  // in the slab, not a copy
  EXPECT_LT(p->data(), h.slab().data() + h.slab().size());
  ASSERT_TRUE(h.put(key(2), value(2)).ok());  // evicts 1, not the peeked 0
  EXPECT_TRUE(h.get(key(0))->has_value());
  EXPECT_FALSE(h.get(key(1))->has_value());
}

TEST(HostTier, TakenValuesStayReadableAndTheirSlotsUnusedUntilReleased) {
  HostTier h(2 * kBlock, nullptr, kBlock);
  ASSERT_TRUE(h.put(key(0), value(0)).ok());
  ASSERT_TRUE(h.put(key(1), value(1)).ok());
  auto t = h.take(key(0));
  ASSERT_TRUE(t.has_value());
  EXPECT_FALSE(h.get(key(0))->has_value());
  EXPECT_FALSE(h.take(key(0)).has_value());
  ASSERT_TRUE(h.put(key(2), value(2)).ok());  // the one free slot is 1's: 1 is evicted
  EXPECT_FALSE(h.get(key(1))->has_value());
  EXPECT_EQ(std::vector<std::byte>(t->begin(), t->end()), value(0));
  h.release_taken();
  ASSERT_TRUE(h.put(key(3), value(3)).ok());  // the released slot
  EXPECT_TRUE(h.get(key(2))->has_value());
  EXPECT_EQ(h.size(), 2u);
}

TEST(HostTier, ReservedSlotIsPublishedByCommitOrFreedByCancel) {
  HostTier h(2 * kBlock, nullptr, kBlock);
  EXPECT_FALSE(h.reserve(key(0), kBlock + 1).has_value());  // not a slot's size
  auto s = h.reserve(key(0), kBlock);
  ASSERT_TRUE(s.has_value());
  EXPECT_FALSE(h.get(key(0))->has_value());  // invisible until committed
  std::fill(s->begin(), s->end(), std::byte{5});
  h.commit(key(0));
  EXPECT_EQ(**h.get(key(0)), value(5));
  ASSERT_TRUE(h.reserve(key(1), kBlock).has_value());
  ASSERT_TRUE(h.put(key(2), value(2)).ok());  // evicts 0: the reserved slot is not a victim
  EXPECT_FALSE(h.get(key(0))->has_value());
  h.cancel(key(1));
  EXPECT_FALSE(h.get(key(1))->has_value());
  ASSERT_TRUE(h.put(key(4), value(4)).ok());  // the cancelled slot
  EXPECT_TRUE(h.get(key(2))->has_value());
  EXPECT_TRUE(h.get(key(4))->has_value());
}

TEST(HostTier, ReserveWithEverySlotHeldFails) {
  HostTier h(kBlock, nullptr, kBlock);
  ASSERT_TRUE(h.reserve(key(0), kBlock).has_value());
  EXPECT_FALSE(h.reserve(key(1), kBlock).has_value());
  EXPECT_FALSE(h.put(key(1), value(1)).ok());
  h.cancel(key(0));
  EXPECT_TRUE(h.put(key(1), value(1)).ok());
}

}  // namespace
}  // namespace agentrt::kv
