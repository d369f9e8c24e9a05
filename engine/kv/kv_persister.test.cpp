// KvPersister: batches, the memory of written keys, failed writes, a full queue, and both
// write paths (a writer thread for a thread-safe tier, the caller's thread otherwise).
#include "engine/kv/kv_persister.h"

#include <gtest/gtest.h>

#include "engine/kv/memory_tier.h"

namespace agentrt::kv {
namespace {

BlockKey key(std::uint64_t i) {
  return BlockKey{i, i * 7 + 1};
}
std::vector<std::byte> bytes(std::uint8_t v, std::size_t n = 8) {
  return std::vector<std::byte>(n, std::byte{v});
}

class KvPersisterTest : public ::testing::TestWithParam<bool> {};

TEST_P(KvPersisterTest, WritesInBatchesAndOnce) {
  testing::MemoryTier tier(GetParam());
  {
    KvPersister p(&tier, {4, 1u << 20, 100});
    for (std::uint64_t i = 0; i < 10; ++i) {
      ASSERT_TRUE(p.wants(key(i)));
      p.offer(key(i), bytes(static_cast<std::uint8_t>(i)));
    }
    p.submit();
    p.drain();
    EXPECT_EQ(p.written(), 10);
    EXPECT_EQ(tier.puts(), 10);
    EXPECT_GE(tier.batches(), 3);  // at most 4 a batch
    EXPECT_EQ(tier.value(key(3)), bytes(3));
    for (std::uint64_t i = 0; i < 10; ++i)
      EXPECT_FALSE(p.wants(key(i)));
  }
  EXPECT_EQ(tier.puts(), 10);
}

TEST_P(KvPersisterTest, FailedWritesAreCountedAndForgotten) {
  testing::MemoryTier tier(GetParam());
  tier.fail_writes(true);
  KvPersister p(&tier);
  p.offer(key(1), bytes(1));
  p.submit();
  p.drain();
  EXPECT_EQ(p.errors(), 1);
  EXPECT_EQ(p.written(), 0);
  EXPECT_TRUE(p.wants(key(1)));  // offered again next time
  tier.fail_writes(false);
  p.offer(key(1), bytes(1));
  p.drain();
  EXPECT_EQ(p.written(), 1);
}

TEST_P(KvPersisterTest, RemembersABoundedSetOfKeys) {
  testing::MemoryTier tier(GetParam());
  KvPersister p(&tier, {64, 1u << 20, 2});
  p.mark_known(key(1));
  p.mark_known(key(2));
  EXPECT_FALSE(p.wants(key(1)));  // now the most recent
  p.mark_known(key(3));           // drops key 2
  EXPECT_FALSE(p.wants(key(1)));
  EXPECT_TRUE(p.wants(key(2)));
  EXPECT_FALSE(p.wants(key(3)));
}

TEST_P(KvPersisterTest, DestructorWritesWhatIsQueued) {
  testing::MemoryTier tier(GetParam());
  {
    KvPersister p(&tier, {2, 1u << 20, 100});
    for (std::uint64_t i = 0; i < 5; ++i)
      p.offer(key(i), bytes(1));
  }
  EXPECT_EQ(tier.size(), 5u);
}

INSTANTIATE_TEST_SUITE_P(WriterThreadOrNot, KvPersisterTest, ::testing::Bool());

// A full queue drops write-behind offers, and makes a flush's offers wait instead.
TEST(KvPersister, FullQueueDropsOrWaits) {
  testing::MemoryTier tier(true);
  KvPersister p(&tier, {1, 16, 100});
  std::int64_t offered = 0;
  for (std::uint64_t i = 0; i < 200; ++i, ++offered)
    p.offer(key(i), bytes(1));  // no submit: the writer waits for a full batch or submit
  p.drain();
  EXPECT_EQ(p.written() + p.dropped(), offered);
  for (std::uint64_t i = 1000; i < 1100; ++i)
    p.offer(key(i), bytes(1), true);
  p.drain();
  EXPECT_EQ(p.written() + p.dropped(), offered + 100);
  EXPECT_GE(p.written(), 100);
}

}  // namespace
}  // namespace agentrt::kv
