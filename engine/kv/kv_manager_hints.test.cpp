// Unit tests of the KV manager's reuse hints (eviction by steps to next use) and prefetch.
#include <gtest/gtest.h>

#include <numeric>

#include "engine/kv/fake_block_memory.h"
#include "engine/kv/host_tier.h"
#include "engine/kv/kv_manager.h"

namespace agentrt::kv {
namespace {

constexpr int kBs = 4;

struct Fixture {
  explicit Fixture(int blocks, std::size_t host_bytes = 0) : mem(blocks, kBs), host(host_bytes) {
    KvManagerDeps deps{&mem, &clock, {}, nullptr};
    if (host_bytes > 0) deps.tiers.push_back(&host);
    auto m = KvManager::create({blocks, kBs, "fp", true, 0}, std::move(deps));
    EXPECT_TRUE(m.ok());
    kv = std::move(*m);
  }
  // Computes `tokens` in a fresh sequence, releases it, and moves the clock on; returns the
  // tokens that were cached.
  std::int64_t run(SeqId seq, const std::vector<std::int32_t>& tokens) {
    const std::int64_t hit = *kv->open(seq, tokens);
    EXPECT_TRUE(kv->reserve(seq, std::ssize(tokens)).ok());
    auto rest = std::span(tokens).subspan(static_cast<std::size_t>(hit));
    mem.write_tokens(kv->block_table(seq), static_cast<std::size_t>(hit), rest);
    EXPECT_TRUE(kv->commit(seq, rest).ok());
    EXPECT_TRUE(mem.holds(kv->block_table(seq), tokens));
    kv->release(seq);
    clock.advance(std::chrono::seconds(1));
    return hit;
  }
  testing::FakeBlockMemory mem;
  FakeClock clock;
  HostTier host;
  std::unique_ptr<KvManager> kv;
};

std::vector<std::int32_t> iota(int n, int from) {
  std::vector<std::int32_t> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), from);
  return v;
}

TEST(KvManagerHints, HintedPrefixOutlivesNewerUnhintedOnes) {
  Fixture f(6);
  const auto a = iota(8, 0), b = iota(8, 100), c = iota(8, 200);
  f.run(1, a);  // oldest: LRU would evict it first
  f.run(2, b);
  EXPECT_EQ(f.kv->hint_reuse(7, a, 1), 2);
  f.run(3, c);  // needs two blocks: b's go, a's stay
  EXPECT_EQ(f.run(4, a), 4);
  EXPECT_EQ(f.run(5, b), 0);
  EXPECT_TRUE(f.kv->check_invariants().ok());
  // Without the hint a is the least recently used again, and goes first.
  f.kv->hint_reuse(7, a, -1);
  f.run(6, iota(8, 300));
  f.run(7, iota(8, 400));
  EXPECT_EQ(f.run(8, a), 0);
}

TEST(KvManagerHints, FartherHintIsEvictedFirst) {
  Fixture f(6);
  const auto a = iota(8, 0), b = iota(8, 100), c = iota(8, 200);
  f.run(1, a);
  f.run(2, b);
  f.kv->hint_reuse(1, a, 3);
  f.kv->hint_reuse(2, b, 1);
  f.run(3, c);
  EXPECT_EQ(f.run(4, b), 4);
  EXPECT_TRUE(f.kv->check_invariants().ok());
}

TEST(KvManagerHints, PrefetchCopiesHostBlocksBackAndEvictsOnlyLaterOnes) {
  const std::size_t block = sizeof(std::int32_t) * kBs;
  Fixture f(4, 64 * block);
  const auto a = iota(8, 0), b = iota(8, 100), c = iota(8, 200);
  f.run(1, a);
  f.run(2, b);
  f.run(3, c);  // a's two blocks go to the host tier
  EXPECT_EQ(f.kv->metrics().offloaded_blocks, 2);
  // b is needed at step 0, c later: only c's blocks make room.
  f.kv->hint_reuse(1, b, 0);
  f.kv->hint_reuse(2, c, 2);
  f.kv->hint_reuse(3, a, 1);
  EXPECT_EQ(f.kv->prefetch(a, 1), 2);
  EXPECT_EQ(f.kv->metrics().prefetched_blocks, 2);
  EXPECT_TRUE(f.kv->check_invariants().ok());
  const auto host_hits = f.kv->metrics().hit_tokens[1];
  EXPECT_EQ(f.run(4, a), 4);  // from the device now, with its tokens
  EXPECT_EQ(f.kv->metrics().hit_tokens[1], host_hits);
}

TEST(KvManagerHints, PrefetchNeverEvictsBlocksNeededNoLater) {
  const std::size_t block = sizeof(std::int32_t) * kBs;
  Fixture f(4, 64 * block);
  const auto a = iota(8, 0), b = iota(8, 100), c = iota(8, 200);
  f.run(1, c);
  f.run(2, a);
  f.run(3, b);  // c goes to the host tier; the device is full of a and b
  f.kv->hint_reuse(1, a, 0);
  f.kv->hint_reuse(2, b, 1);
  EXPECT_EQ(f.kv->prefetch(c, 1), 0);  // b is needed as soon
  f.kv->hint_reuse(2, b, 5);
  EXPECT_EQ(f.kv->prefetch(c, 1), 2);  // b is needed later: its blocks make room
  EXPECT_TRUE(f.kv->check_invariants().ok());
  EXPECT_EQ(f.run(4, a), 4);
  EXPECT_EQ(f.run(5, c), 4);
}

}  // namespace
}  // namespace agentrt::kv
