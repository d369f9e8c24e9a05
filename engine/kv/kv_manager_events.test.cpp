// Tests of the KvManager's event hook (kv_events.h): blocks stored, evicted, moved between
// tiers, pinned and unpinned are reported by chained key, in batches, and nothing is
// recorded without a listener.
#include <gtest/gtest.h>

#include <numeric>

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

// The chained keys of the full blocks of `tokens`, as the manager (fingerprint "fp") makes.
std::vector<BlockKey> keys_of(const std::vector<std::int32_t>& tokens) {
  std::vector<BlockKey> out;
  BlockKey parent = root_key("fp");
  for (std::size_t i = 0; i + kBs <= tokens.size(); i += kBs) {
    parent = chain_key(parent, std::span(tokens).subspan(i, kBs), "fp");
    out.push_back(parent);
  }
  return out;
}

struct Recorder {
  std::vector<KvBlockEvent> events;
  int batches = 0;
  KvEventListener listener() {
    return [this](std::span<const KvBlockEvent> b) {
      ++batches;
      events.insert(events.end(), b.begin(), b.end());
    };
  }
  // The keys of the events of one type and tier, in order.
  std::vector<BlockKey> keys(KvEventType type, int tier) const {
    std::vector<BlockKey> out;
    for (const auto& e : events)
      if (e.type == type && e.tier == tier) out.push_back(e.key);
    return out;
  }
};

struct Fixture {
  explicit Fixture(int blocks, std::size_t host_bytes = 0) : mem(blocks, kBs), host(host_bytes) {
    KvManagerDeps deps{&mem, &clock, {}, nullptr};
    if (host_bytes > 0) deps.tiers.push_back(&host);
    auto m = KvManager::create({blocks, kBs, "fp", true, 0}, std::move(deps));
    EXPECT_TRUE(m.ok());
    kv = std::move(*m);
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
  std::unique_ptr<KvManager> kv;
};

TEST(KvManagerEvents, SealedBlocksAreStoredOnTheDeviceOnceFlushed) {
  Fixture f(8);
  Recorder r;
  f.kv->set_event_listener(r.listener());
  f.run(1, iota(10));  // two full blocks, one partial
  EXPECT_EQ(r.batches, 0) << "events wait for flush_events()";
  f.kv->flush_events();
  EXPECT_EQ(r.batches, 1);
  EXPECT_EQ(r.keys(KvEventType::stored, 0), keys_of(iota(10)));
  EXPECT_EQ(r.events.size(), 2u);
  // The same content again is a hit, not a new block: nothing to report.
  f.run(2, iota(10));
  f.kv->flush_events();
  EXPECT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.batches, 1) << "an empty buffer is not handed over";
}

TEST(KvManagerEvents, EvictionWithoutALowerTierLeavesTheDevice) {
  Fixture f(4);
  Recorder r;
  f.kv->set_event_listener(r.listener());
  f.run(1, iota(5));  // one cached block
  f.kv->release(1);
  f.run(2, iota(16, 100));  // needs all 4 blocks: evicts seq 1's
  f.kv->flush_events();
  EXPECT_EQ(r.keys(KvEventType::evicted, 0), keys_of(iota(4)));
  EXPECT_TRUE(r.keys(KvEventType::stored, 1).empty());
  EXPECT_EQ(r.keys(KvEventType::stored, 0).size(), 5u);  // seq 1's block, seq 2's four
}

TEST(KvManagerEvents, BlocksMoveToTheHostTierAndBack) {
  Fixture f(3, /*host_bytes=*/1024);
  Recorder r;
  f.kv->set_event_listener(r.listener());
  f.run(1, iota(9));  // two cached blocks
  f.kv->release(1);
  f.run(2, iota(12, 100));  // evicts both to the host tier
  f.kv->release(2);
  f.kv->flush_events();
  const auto first = keys_of(iota(9));
  EXPECT_EQ(r.keys(KvEventType::evicted, 0), first);
  EXPECT_EQ(r.keys(KvEventType::stored, 1), first);
  r.events.clear();
  f.run(3, iota(9));  // promoted back: they leave the host tier for the device
  f.kv->flush_events();
  EXPECT_EQ(r.keys(KvEventType::stored, 0), first);
  EXPECT_EQ(r.keys(KvEventType::evicted, 1), first);
  EXPECT_EQ(f.kv->metrics().hit_tokens[1], 8);
}

TEST(KvManagerEvents, ABlockTheHostTierDropsForRoomIsEvictedThere) {
  const std::size_t block = testing::FakeBlockMemory(3, kBs).block_bytes();
  Fixture f(3, /*host_bytes=*/block);  // the host tier holds one block
  Recorder r;
  f.kv->set_event_listener(r.listener());
  f.run(1, iota(9));  // two cached blocks
  f.kv->release(1);
  f.run(2, iota(12, 100));  // evicts both to the host tier: the second pushes the first out
  f.kv->release(2);
  f.kv->flush_events();
  const auto stored = r.keys(KvEventType::stored, 1);
  ASSERT_EQ(stored.size(), 2u);
  EXPECT_EQ(r.keys(KvEventType::evicted, 1), std::vector<BlockKey>{stored[0]});
  r.events.clear();
  f.kv->flush_events();
  EXPECT_TRUE(r.events.empty()) << "a drop is told once";
}

TEST(KvManagerEvents, PinsAndUnpinsAreReportedPerPin) {
  Fixture f(8);
  Recorder r;
  f.kv->set_event_listener(r.listener());
  f.run(1, iota(9));
  ASSERT_TRUE(f.kv->pin(7, 1, seconds(10)).ok());
  ASSERT_TRUE(f.kv->pin(8, 1, seconds(20)).ok());
  f.kv->flush_events();
  const auto keys = keys_of(iota(9));
  auto twice = keys;
  twice.insert(twice.end(), keys.begin(), keys.end());
  EXPECT_EQ(r.keys(KvEventType::pinned, 0), twice);
  f.kv->unpin(7);
  f.clock.advance(seconds(11));
  f.kv->expire_pins();  // owner 8's pin still runs
  f.kv->flush_events();
  EXPECT_EQ(r.keys(KvEventType::unpinned, 0), keys);
  f.clock.advance(seconds(10));
  f.kv->expire_pins();  // now it ends
  f.kv->flush_events();
  EXPECT_EQ(r.keys(KvEventType::unpinned, 0), twice);
}

TEST(KvManagerEvents, WriteBehindStoresInThePersistentTier) {
  testing::MemoryTier store(false);
  KvPersister persister(&store);
  testing::FakeBlockMemory mem(4, kBs);
  FakeClock clock;
  KvManagerDeps deps{&mem, &clock, {&store}, nullptr, &persister};
  auto kv = KvManager::create({4, kBs, "fp", true, 0}, std::move(deps));
  ASSERT_TRUE(kv.ok());
  Recorder r;
  (*kv)->set_event_listener(r.listener());
  const auto tokens = iota(9);
  ASSERT_TRUE((*kv)->open(1, tokens).ok());
  ASSERT_TRUE((*kv)->reserve(1, 9).ok());
  mem.write_tokens((*kv)->block_table(1), 0, tokens);
  ASSERT_TRUE((*kv)->commit(1, tokens).ok());
  (*kv)->persist(1);
  (*kv)->flush_events();
  EXPECT_EQ(r.keys(KvEventType::stored, 1), keys_of(tokens));  // the store is tier 1 here
}

TEST(KvManagerEvents, NothingIsRecordedWithoutAListener) {
  Fixture f(4);
  Recorder r;
  f.kv->set_event_listener(r.listener());
  f.kv->set_event_listener({});  // cleared before anything happened
  f.run(1, iota(9));
  ASSERT_TRUE(f.kv->pin(7, 1, seconds(10)).ok());
  f.kv->release(1);
  f.kv->unpin(7);
  f.run(2, iota(16, 100));  // evicts
  f.kv->flush_events();
  Recorder late;
  f.kv->set_event_listener(late.listener());
  f.kv->flush_events();
  EXPECT_TRUE(r.events.empty());
  EXPECT_TRUE(late.events.empty()) << "events made without a listener are not kept";
}

TEST(KvManagerEvents, AFullBufferIsHandedOverWithoutWaitingForAFlush) {
  const int blocks = static_cast<int>(KvManager::kMaxBufferedEvents) + 8;
  Fixture f(blocks);
  Recorder r;
  f.kv->set_event_listener(r.listener());
  f.run(1, iota((blocks - 1) * kBs));
  EXPECT_EQ(r.batches, 1);
  EXPECT_EQ(r.events.size(), KvManager::kMaxBufferedEvents);
  f.kv->flush_events();
  EXPECT_EQ(r.events.size(), static_cast<std::size_t>(blocks - 1));
}

}  // namespace
}  // namespace agentrt::kv
