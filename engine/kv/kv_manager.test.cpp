// Unit tests of the KV manager: prefix reuse, eviction, fork/COW, pins, tiers, swap.
#include "engine/kv/kv_manager.h"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <numeric>

#include "engine/kv/fake_block_memory.h"
#include "engine/kv/host_tier.h"
#include "engine/kv/memory_tier.h"

namespace agentrt::kv {
namespace {

using std::chrono::seconds;

constexpr int kBs = 4;

struct Fixture {
  explicit Fixture(int blocks, std::size_t host_bytes = 0, std::size_t swap_bytes = 0)
      : mem(blocks, kBs), host(host_bytes) {
    KvManagerDeps deps{&mem, &clock, {}, nullptr};
    if (host_bytes > 0) deps.tiers.push_back(&host);
    auto m = KvManager::create({blocks, kBs, "fp", true, swap_bytes}, std::move(deps));
    EXPECT_TRUE(m.ok());
    kv = std::move(*m);
  }
  // Opens seq over tokens, "computes" the rest and commits it.
  std::int64_t run(SeqId seq, const std::vector<std::int32_t>& tokens) {
    auto hit = kv->open(seq, tokens);
    EXPECT_TRUE(hit.ok());
    EXPECT_TRUE(kv->reserve(seq, std::ssize(tokens)).ok());
    std::span<const std::int32_t> rest = std::span(tokens).subspan(static_cast<std::size_t>(*hit));
    mem.write_tokens(kv->block_table(seq), static_cast<std::size_t>(*hit), rest);
    EXPECT_TRUE(kv->commit(seq, rest).ok());
    EXPECT_TRUE(mem.holds(kv->block_table(seq), tokens));
    return *hit;
  }
  testing::FakeBlockMemory mem;
  FakeClock clock;
  HostTier host;
  std::unique_ptr<KvManager> kv;
};

std::vector<std::int32_t> iota(int n, int from = 0) {
  std::vector<std::int32_t> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), from);
  return v;
}

TEST(KvManager, ReusesFullBlockPrefixLeavingOneTokenToCompute) {
  Fixture f(8);
  EXPECT_EQ(f.run(1, iota(10)), 0);
  f.kv->release(1);
  EXPECT_EQ(f.run(2, iota(10)), 8);  // two full blocks
  EXPECT_EQ(f.run(3, iota(8)), 4);   // the last token is always computed
  EXPECT_EQ(f.kv->metrics().hit_tokens[0], 12);
  EXPECT_TRUE(f.kv->check_invariants().ok());
}

TEST(KvManager, EvictsLeastRecentlyUsedCachedBlock) {
  Fixture f(4);
  f.run(1, iota(5, 0));  // blocks: [0..3] full, [4] partial
  f.kv->release(1);      // one cached block, one freed
  f.clock.advance(seconds(1));
  f.run(2, iota(5, 100));  // another cached block
  f.kv->release(2);
  EXPECT_EQ(f.kv->available_blocks(), 4);
  f.run(3, iota(12, 200));  // needs 3 blocks: evicts exactly the oldest (seq 1's)
  EXPECT_EQ(f.kv->metrics().evictions, 1);
  f.kv->release(3);
  EXPECT_EQ(f.run(4, iota(5, 100)), 4);  // seq 2's block survived
  EXPECT_TRUE(f.kv->check_invariants().ok());
}

TEST(KvManager, ForkSharesBlocksAndCopiesPartialBlockOnWrite) {
  Fixture f(8);
  f.run(1, iota(6));
  ASSERT_TRUE(f.kv->fork(1, 2).ok());
  EXPECT_EQ(f.kv->block_table(1)[1], f.kv->block_table(2)[1]);
  EXPECT_EQ(f.kv->blocks_to_grow(2, 7), 1);  // the copy of the shared partial block
  ASSERT_TRUE(f.kv->reserve(2, 7).ok());
  EXPECT_EQ(f.kv->metrics().cow_copies, 1);
  EXPECT_EQ(f.kv->block_table(1)[0], f.kv->block_table(2)[0]);
  EXPECT_NE(f.kv->block_table(1)[1], f.kv->block_table(2)[1]);
  const std::int32_t t99 = 99;
  f.mem.write_tokens(f.kv->block_table(2), 6, std::span(&t99, 1));
  ASSERT_TRUE(f.kv->commit(2, std::span(&t99, 1)).ok());
  auto parent = iota(6);
  EXPECT_TRUE(f.mem.holds(f.kv->block_table(1), parent));  // parent untouched
  parent.push_back(99);
  EXPECT_TRUE(f.mem.holds(f.kv->block_table(2), parent));
  EXPECT_TRUE(f.kv->check_invariants().ok());
}

TEST(KvManager, PinnedBlocksSurvivePressureUntilTtlExpires) {
  Fixture f(4);
  f.run(1, iota(9));  // 2 full blocks + partial
  ASSERT_TRUE(f.kv->pin(7, 1, seconds(10)).ok());
  f.kv->release(1);
  EXPECT_EQ(f.kv->metrics().pinned_blocks, 2);
  f.run(2, iota(8, 50));  // takes the other 2 blocks; the pinned ones stay
  f.kv->release(2);
  EXPECT_EQ(f.kv->metrics().evictions, 0);
  EXPECT_EQ(f.run(3, iota(9)), 8);
  f.kv->release(3);
  f.clock.advance(seconds(11));
  f.kv->expire_pins();
  EXPECT_FALSE(f.kv->pinned(7));
  EXPECT_EQ(f.kv->metrics().pins_expired, 1);
  EXPECT_EQ(f.kv->metrics().pinned_blocks, 0);
  EXPECT_TRUE(f.kv->check_invariants().ok());
}

// With a persister, a pin that expires writes its blocks before they turn evictable, and a
// block read back from the persistent tier is not written again.
TEST(KvManager, ExpiredPinsAreWrittenBehind) {
  testing::MemoryTier store(false);
  KvPersister persister(&store);
  testing::FakeBlockMemory mem(4, kBs);
  FakeClock clock;
  KvManagerDeps deps{&mem, &clock, {&store}, nullptr, &persister};
  auto kv = KvManager::create({4, kBs, "fp", true, 0}, std::move(deps));
  ASSERT_TRUE(kv.ok());
  const auto tokens = iota(9);
  ASSERT_TRUE((*kv)->open(1, tokens).ok());
  ASSERT_TRUE((*kv)->reserve(1, 9).ok());
  mem.write_tokens((*kv)->block_table(1), 0, tokens);
  ASSERT_TRUE((*kv)->commit(1, tokens).ok());
  ASSERT_TRUE((*kv)->pin(7, 1, seconds(10)).ok());
  (*kv)->release(1);
  EXPECT_EQ(store.size(), 0u);
  clock.advance(seconds(11));
  (*kv)->expire_pins();
  EXPECT_EQ(store.size(), 2u);
  EXPECT_EQ((*kv)->metrics().persisted_blocks, 2);
  (*kv)->persist_cached();  // known: nothing new
  EXPECT_EQ(store.puts(), 2);
}

// A prefix in a store (a tier that keeps what it returns) is read with get_many, a window
// of blocks at a time, not one get per block.
TEST(KvManager, StorePrefixIsReadInBatches) {
  testing::MemoryTier store;
  testing::FakeBlockMemory mem(32, kBs);
  FakeClock clock;
  auto kv = KvManager::create({32, kBs, "fp", true, 0}, {&mem, &clock, {&store}, nullptr});
  ASSERT_TRUE(kv.ok());
  const auto tokens = iota(81);  // 20 full blocks to match
  BlockKey parent = root_key("fp");
  for (int i = 0; i < 20; ++i) {
    auto part = std::span(tokens).subspan(static_cast<std::size_t>(i * kBs), kBs);
    parent = chain_key(parent, part, "fp");
    std::vector<std::byte> value(mem.block_bytes());
    std::memcpy(value.data(), part.data(), value.size());  // FakeBlockMemory's layout
    ASSERT_TRUE(store.put(parent, value).ok());
  }
  auto hit = (*kv)->open(1, tokens);
  ASSERT_TRUE(hit.ok());
  EXPECT_EQ(*hit, 80);
  EXPECT_EQ(store.get_batches(), 2);  // 16 + 4
  EXPECT_TRUE(mem.holds((*kv)->block_table(1), std::span(tokens).first(80)));
  EXPECT_EQ((*kv)->metrics().hit_tokens[1], 80);
}

TEST(KvManager, RevokesLeastUsefulPinUnderPressure) {
  Fixture f(4);
  f.run(1, iota(5, 0));
  ASSERT_TRUE(f.kv->pin(1, 1, seconds(5)).ok());
  f.kv->release(1);
  f.run(2, iota(5, 10));
  ASSERT_TRUE(f.kv->pin(2, 2, seconds(100)).ok());
  f.kv->release(2);
  f.run(3, iota(12, 20));  // needs 3 of 4 blocks: one pin must go, the long one
  EXPECT_EQ(f.kv->metrics().pins_revoked, 1);
  EXPECT_TRUE(f.kv->pinned(1));
  EXPECT_FALSE(f.kv->pinned(2));
  EXPECT_TRUE(f.kv->check_invariants().ok());
}

TEST(KvManager, OutOfMemoryWhenEverythingIsReferenced) {
  Fixture f(2);
  f.run(1, iota(8));
  EXPECT_TRUE(f.kv->open(2, iota(3, 9)).ok());
  auto st = f.kv->reserve(2, 3);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::out_of_memory);
  EXPECT_TRUE(f.kv->check_invariants().ok());
}

TEST(KvManager, EvictedBlocksAreFoundInHostTierAndPromoted) {
  Fixture f(3, /*host_bytes=*/1024);
  f.run(1, iota(9));
  f.kv->release(1);
  f.run(2, iota(12, 100));  // evicts seq 1's two cached blocks to the host tier
  f.kv->release(2);
  f.run(5, iota(12, 300));
  f.kv->release(5);
  EXPECT_GE(f.kv->metrics().offloaded_blocks, 2);
  EXPECT_EQ(f.run(3, iota(9)), 8);  // verified by run(): the promoted bytes are right
  EXPECT_EQ(f.kv->metrics().hit_tokens[1], 8);
  EXPECT_TRUE(f.kv->check_invariants().ok());
}

TEST(KvManager, TierValueOfTheWrongSizeIsDroppedNotServed) {
  Fixture f(4, /*host_bytes=*/1024);
  const auto t = iota(9);
  const BlockKey k0 = chain_key(root_key("fp"), std::span(t).first(kBs), "fp");
  ASSERT_TRUE(f.host.put(k0, std::vector<std::byte>(f.mem.block_bytes() + 4)).ok());
  EXPECT_EQ(f.run(1, t), 0);  // computed; run() checks the table holds t
  EXPECT_EQ(f.kv->metrics().tier_dropped_blocks, 1);
  EXPECT_EQ(f.host.size(), 0u);
  EXPECT_TRUE(f.kv->check_invariants().ok());
}

TEST(KvManager, SwapOutAndInRestoresContent) {
  Fixture f(4, 0, /*swap_bytes=*/4096);
  const auto t = iota(7);
  f.run(1, t);
  ASSERT_TRUE(f.kv->swap_out(1).ok());
  EXPECT_TRUE(f.kv->swapped_out(1));
  f.run(2, iota(16, 40));  // overwrite every block
  f.kv->release(2);
  ASSERT_TRUE(f.kv->swap_in(1).ok());
  EXPECT_TRUE(f.mem.holds(f.kv->block_table(1), t));
  EXPECT_EQ(f.kv->computed(1), 7);
  EXPECT_EQ(f.kv->swap_used_bytes(), 0u);
  EXPECT_TRUE(f.kv->check_invariants().ok());
}

TEST(KvManager, SwapOutRefusedWithoutSpace) {
  Fixture f(4, 0, /*swap_bytes=*/8);
  f.run(1, iota(7));
  auto st = f.kv->swap_out(1);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::out_of_memory);
  EXPECT_FALSE(f.kv->swapped_out(1));
}

TEST(KvManager, PrefixReuseOffNeverMatches) {
  testing::FakeBlockMemory mem(4, kBs);
  FakeClock clock;
  auto kv = KvManager::create({4, kBs, "fp", false, 0}, {&mem, &clock, {}, nullptr});
  ASSERT_TRUE(kv.ok());
  ASSERT_TRUE((*kv)->open(1, iota(9)).ok());
  ASSERT_TRUE((*kv)->reserve(1, 9).ok());
  ASSERT_TRUE((*kv)->commit(1, iota(9)).ok());
  (*kv)->release(1);
  auto hit = (*kv)->open(2, iota(9));
  ASSERT_TRUE(hit.ok());
  EXPECT_EQ(*hit, 0);
}

// The device pool by state (free, cached, used, pinned) sums to its size at every point.
TEST(KvManager, MetricsCountDeviceBlocksByState) {
  Fixture f(8, /*host_bytes=*/1024);
  auto states = [&] {
    const KvMetrics m = f.kv->metrics();
    EXPECT_EQ(m.free_blocks + m.cached_blocks + m.used_blocks + m.pinned_blocks, 8);
    return std::array<std::int64_t, 4>{m.free_blocks, m.cached_blocks, m.used_blocks,
                                       m.pinned_blocks};
  };
  EXPECT_EQ(states(), (std::array<std::int64_t, 4>{8, 0, 0, 0}));
  f.run(1, iota(9));  // 2 full blocks + partial
  EXPECT_EQ(states(), (std::array<std::int64_t, 4>{5, 0, 3, 0}));
  ASSERT_TRUE(f.kv->pin(7, 1, seconds(10)).ok());
  EXPECT_EQ(states(), (std::array<std::int64_t, 4>{5, 0, 1, 2}));
  f.kv->release(1);
  f.run(2, iota(8, 50));
  f.kv->release(2);
  EXPECT_EQ(states(), (std::array<std::int64_t, 4>{4, 2, 0, 2}));
  const KvMetrics m = f.kv->metrics();
  EXPECT_EQ(m.active_pins, 1);
  EXPECT_EQ(m.block_bytes, static_cast<std::int64_t>(f.mem.block_bytes()));
  EXPECT_EQ(m.tier_bytes[1], 0);   // the host tier, empty
  EXPECT_EQ(m.tier_bytes[2], -1);  // no store
}

// A re-pin finds a paused sequence's blocks again: on the device where they are cached, and
// from the host tier (copied back: a prefetch) after they were evicted there; ttl 0 unpins.
TEST(KvManager, PinPrefixPinsCachedBlocksAndPrefetchesEvictedOnes) {
  Fixture f(3, /*host_bytes=*/1024);
  f.run(1, iota(9));  // 2 full blocks + partial
  f.kv->release(1);
  auto pinned = f.kv->pin_prefix(7, iota(9), seconds(10));
  ASSERT_TRUE(pinned.ok());
  EXPECT_EQ(*pinned, 8);
  EXPECT_EQ(f.kv->metrics().pinned_blocks, 2);
  EXPECT_EQ(f.kv->metrics().prefetched_blocks, 0);
  EXPECT_TRUE(f.kv->pin_prefix(7, iota(9), seconds(0)).ok());
  EXPECT_FALSE(f.kv->pinned(7));
  f.run(2, iota(12, 100));  // evicts the two cached blocks to the host tier
  f.kv->release(2);
  ASSERT_GE(f.kv->metrics().offloaded_blocks, 2);
  pinned = f.kv->pin_prefix(7, iota(9), seconds(10));
  ASSERT_TRUE(pinned.ok());
  EXPECT_EQ(*pinned, 8);
  EXPECT_EQ(f.kv->metrics().prefetched_blocks, 2);
  EXPECT_EQ(f.kv->metrics().hit_tokens[1], 0) << "a prefetch is not a prompt hit";
  EXPECT_EQ(f.run(3, iota(9)), 8);  // run() checks the bytes that came back
  EXPECT_EQ(f.kv->metrics().hit_tokens[0], 8);
  EXPECT_TRUE(f.kv->check_invariants().ok());
  EXPECT_EQ(*f.kv->pin_prefix(8, iota(9, 500), seconds(10)), 0) << "nothing cached";
  EXPECT_FALSE(f.kv->pinned(8));
}

}  // namespace
}  // namespace agentrt::kv
