// Tests of KvManager::held_blocks: what it lists is what its events describe (replayed here),
// per tier with pins; it stops at `max`, device blocks first; a tier that cannot list its
// keys adds none.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <set>
#include <tuple>

#include "engine/kv/fake_block_memory.h"
#include "engine/kv/host_tier.h"
#include "engine/kv/kv_manager.h"
#include "engine/kv/memory_tier.h"

namespace agentrt::kv {
namespace {

using std::chrono::seconds;

constexpr int kBs = 4;

std::vector<std::int32_t> iota(int n, int from = 0) {
  std::vector<std::int32_t> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), from);
  return v;
}

using Entry = std::tuple<int, std::uint64_t, std::uint64_t, std::int32_t>;  // tier, key, pins

// The events replayed: keys per tier, pins per device key.
struct Replay {
  std::map<int, std::set<std::pair<std::uint64_t, std::uint64_t>>> held;
  std::map<std::pair<std::uint64_t, std::uint64_t>, std::int32_t> pins;
  KvEventListener listener() {
    return [this](std::span<const KvBlockEvent> events) {
      for (const KvBlockEvent& e : events) {
        const auto k = std::make_pair(e.key.hi, e.key.lo);
        if (e.type == KvEventType::stored) held[e.tier].insert(k);
        if (e.type == KvEventType::evicted) held[e.tier].erase(k);
        if (e.type == KvEventType::pinned) ++pins[k];
        if (e.type == KvEventType::unpinned) --pins[k];
      }
    };
  }
  std::vector<Entry> entries() const {
    std::vector<Entry> out;
    for (const auto& [tier, keys] : held)
      for (const auto& k : keys) {
        auto p = (tier == 0 && pins.count(k) != 0) ? pins.at(k) : 0;
        out.emplace_back(tier, k.first, k.second, p);
      }
    std::sort(out.begin(), out.end());
    return out;
  }
};

std::vector<Entry> sorted(const std::vector<KvHeldBlock>& blocks) {
  std::vector<Entry> out;
  for (const auto& b : blocks)
    out.emplace_back(b.tier, b.key.hi, b.key.lo, b.pins);
  std::sort(out.begin(), out.end());
  return out;
}

struct Fixture {
  Fixture(int blocks, std::size_t host_bytes) : mem(blocks, kBs), host(host_bytes) {
    KvManagerDeps deps{&mem, &clock, {&host}, nullptr};
    auto m = KvManager::create({blocks, kBs, "fp", true, 0}, std::move(deps));
    EXPECT_TRUE(m.ok());
    kv = std::move(*m);
    kv->set_event_listener(replay.listener());
  }
  void run(SeqId seq, const std::vector<std::int32_t>& tokens) {
    auto hit = kv->open(seq, tokens);
    ASSERT_TRUE(hit.ok());
    ASSERT_TRUE(kv->reserve(seq, std::ssize(tokens)).ok());
    auto rest = std::span(tokens).subspan(static_cast<std::size_t>(*hit));
    mem.write_tokens(kv->block_table(seq), static_cast<std::size_t>(*hit), rest);
    ASSERT_TRUE(kv->commit(seq, rest).ok());
  }
  testing::FakeBlockMemory mem;
  FakeClock clock;
  HostTier host;
  Replay replay;
  std::unique_ptr<KvManager> kv;
};

TEST(KvManagerSnapshot, ListsWhatItsEventsDescribePerTierWithPins) {
  Fixture f(8, /*host_bytes=*/4096);
  EXPECT_TRUE(f.kv->held_blocks(100).empty());
  f.run(1, iota(9));  // 2 full blocks
  ASSERT_TRUE(f.kv->pin(7, 1, seconds(10)).ok());
  ASSERT_TRUE(f.kv->pin(8, 1, seconds(10)).ok());
  f.kv->release(1);
  f.run(2, iota(12, 100));  // 3 more
  f.kv->release(2);
  f.kv->unpin(8);
  f.run(3, iota(20, 200));  // 5 blocks: 3 free, 2 of seq 2's go to the host tier
  f.kv->release(3);
  f.run(4, iota(9, 100));  // seq 2's first 2 blocks come back from the host tier
  f.kv->flush_events();
  const auto held = f.kv->held_blocks(100);
  EXPECT_EQ(sorted(held), f.replay.entries());
  std::map<int, int> per_tier;
  int pinned = 0;
  for (const auto& b : held) {
    ++per_tier[b.tier];
    if (b.pins > 0) {
      ++pinned;
      EXPECT_EQ(b.pins, 1) << "owner 8's pin ended";
    }
  }
  EXPECT_EQ(pinned, 2);
  EXPECT_GE(per_tier[0], 7) << "the device's blocks are sealed but for seq 4's partial one";
  EXPECT_GE(per_tier[1], 1) << "evicted blocks wait in the host tier";
  EXPECT_TRUE(f.kv->check_invariants().ok());
}

TEST(KvManagerSnapshot, StopsAtMaxWithTheDeviceFirst) {
  Fixture f(8, /*host_bytes=*/4096);
  f.run(1, iota(16));  // 4 device blocks
  f.kv->release(1);
  f.run(2, iota(32, 100));  // 8 blocks: the first 4 go to the host tier
  f.kv->flush_events();
  ASSERT_EQ(f.kv->held_blocks(100).size(), 12u);
  const auto some = f.kv->held_blocks(10);
  ASSERT_EQ(some.size(), 10u);
  for (std::size_t i = 0; i < 8; ++i)
    EXPECT_EQ(some[i].tier, 0) << i;
  EXPECT_EQ(some[8].tier, 1);
  EXPECT_EQ(f.kv->held_blocks(0).size(), 0u);
}

TEST(KvManagerSnapshot, ATierThatCannotListItsKeysAddsNone) {
  testing::MemoryTier store(false);  // lists nothing (KvTier::list_keys' default)
  testing::FakeBlockMemory mem(4, kBs);
  FakeClock clock;
  KvManagerDeps deps{&mem, &clock, {&store}, nullptr};
  auto kv = KvManager::create({4, kBs, "fp", true, 0}, std::move(deps));
  ASSERT_TRUE(kv.ok());
  const auto tokens = iota(9);
  ASSERT_TRUE((*kv)->open(1, tokens).ok());
  ASSERT_TRUE((*kv)->reserve(1, 9).ok());
  mem.write_tokens((*kv)->block_table(1), 0, tokens);
  ASSERT_TRUE((*kv)->commit(1, tokens).ok());
  (*kv)->release(1);
  ASSERT_TRUE((*kv)->open(2, iota(16, 100)).ok());
  ASSERT_TRUE((*kv)->reserve(2, 16).ok());  // evicts both cached blocks into the store
  EXPECT_GT(store.size(), 0u) << "the evicted blocks went to the store";
  EXPECT_TRUE((*kv)->held_blocks(100).empty()) << "seq 2's blocks are not sealed yet";
}

}  // namespace
}  // namespace agentrt::kv
