// ReadThroughTier over OrphanStores (read_through_tier.h, orphan_stores.h): a node's own
// tier first; what it lacks, from a dead node's on-disk store while a lease keeps it open,
// as a chain, for the store's own model only.
#include "cluster/read_through_tier.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "cluster/kv_shipping.h"
#include "cluster/node_held_stores.h"
#include "cluster/node_kv_store.h"
#include "storage/kv_store.h"

namespace agentrt::cluster {
namespace {

constexpr int kBlock = 16;
const std::string kPrint = "model-a|cpu-f32";

std::vector<std::int32_t> tokens(int n) {
  std::vector<std::int32_t> t;
  for (int i = 0; i < n; ++i)
    t.push_back(i * 13 % 97);
  return t;
}

kv::KvTier::Value bytes_of(char tag, int i) {
  return kv::KvTier::Value(48, static_cast<std::byte>(tag + i));
}

// A dead node's store: blocks [0, blocks) of the chain, written and closed.
struct DeadStore {
  std::string dir;
  DeadStore(const std::string& name, const std::vector<kv::BlockKey>& keys, int blocks) {
    dir = ::testing::TempDir() + name + "_" + std::to_string(getpid());
    std::filesystem::remove_all(dir);
    auto store = storage::KvStore::open(dir, kPrint);
    EXPECT_TRUE(store.ok()) << store.error().message;
    for (int i = 0; i < blocks; ++i)
      EXPECT_TRUE((*store)->put(keys[i], bytes_of('s', i)).ok());
  }
  ~DeadStore() { std::filesystem::remove_all(dir); }
};

TEST(ReadThroughTier, ServesWhatItsOwnTierLacksFromALeasedDeadNodesStore) {
  const auto keys = chain_keys(tokens(kBlock * 8), kBlock, kPrint);
  DeadStore dead("rt_dead", keys, 6);
  auto own = std::make_shared<NodeKvStore>(1 << 20);
  ASSERT_TRUE(own->put(keys[0], bytes_of('o', 0)).ok());
  ASSERT_TRUE(own->put(keys[1], bytes_of('o', 1)).ok());
  auto orphans = std::make_shared<OrphanStores>();
  ReadThroughTier tier(own, orphans, kPrint);

  auto before = tier.get_many(keys);
  ASSERT_TRUE(before.ok());
  EXPECT_TRUE((*before)[1].has_value());
  EXPECT_FALSE((*before)[2].has_value()) << "no store is leased yet";

  {
    auto lease = OrphanStores::lease(orphans, dead.dir);
    ASSERT_TRUE(lease.ok()) << lease.error().message;
    auto got = tier.get_many(keys);
    ASSERT_TRUE(got.ok());
    ASSERT_EQ(got->size(), keys.size());
    EXPECT_EQ(*(*got)[0], bytes_of('o', 0)) << "the own tier comes first";
    EXPECT_EQ(*(*got)[1], bytes_of('o', 1));
    for (int i = 2; i < 6; ++i) {
      ASSERT_TRUE((*got)[i].has_value()) << "block " << i;
      EXPECT_EQ(*(*got)[i], bytes_of('s', i));
    }
    EXPECT_FALSE((*got)[6].has_value());
    EXPECT_FALSE((*got)[7].has_value());
    EXPECT_EQ(lease->blocks_read(), 4);

    auto one = tier.get(keys[3]);
    ASSERT_TRUE(one.ok() && one->has_value());
    EXPECT_EQ(**one, bytes_of('s', 3));
    EXPECT_FALSE(own->get(keys[3])->has_value()) << "served, not copied in";

    // The same keys asked by an engine of another model find nothing there.
    ReadThroughTier other(std::make_shared<NodeKvStore>(1 << 20), orphans, "model-b|cpu-f32");
    auto none = other.get_many(keys);
    ASSERT_TRUE(none.ok());
    for (const auto& v : *none)
      EXPECT_FALSE(v.has_value());
  }
  EXPECT_FALSE(orphans->any()) << "the last lease closed the store";
  auto after = tier.get(keys[3]);
  ASSERT_TRUE(after.ok());
  EXPECT_FALSE(after->has_value());
}

TEST(OrphanStores, LeasesShareOneOpenStoreAndRefuseBadPaths) {
  const auto keys = chain_keys(tokens(kBlock * 2), kBlock, kPrint);
  DeadStore dead("rt_shared", keys, 2);
  auto orphans = std::make_shared<OrphanStores>();
  auto a = OrphanStores::lease(orphans, dead.dir);
  auto b = OrphanStores::lease(orphans, dead.dir);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(orphans->read(kPrint, keys).size(), 2u);
  EXPECT_EQ(b->blocks_read(), 2) << "counted per store";
  { OrphanStores::Lease gone = std::move(*a); }
  EXPECT_TRUE(orphans->any());
  { OrphanStores::Lease gone = std::move(*b); }
  EXPECT_FALSE(orphans->any());

  auto relative = OrphanStores::lease(orphans, "n1-kv");
  ASSERT_FALSE(relative.ok());
  EXPECT_EQ(relative.error().code, ErrorCode::invalid_argument);
  EXPECT_NE(relative.error().message.find("n1-kv"), std::string::npos);
  EXPECT_FALSE(OrphanStores::lease(orphans, dead.dir + "-missing").ok());
  EXPECT_FALSE(orphans->any());
}

TEST(HeldStores, HoldAStoreUntilItsTimeAndReportWhatWasReadThroughIt) {
  const auto keys = chain_keys(tokens(kBlock * 3), kBlock, kPrint);
  DeadStore dead("rt_held", keys, 3);
  auto orphans = std::make_shared<OrphanStores>();
  HeldStores held;
  const auto t0 = HeldStores::Clock::now();
  auto lease = OrphanStores::lease(orphans, dead.dir);
  ASSERT_TRUE(lease.ok());
  held.hold(std::move(*lease), t0 + std::chrono::seconds(10));
  EXPECT_TRUE(held.newly_read().empty());
  EXPECT_EQ(orphans->read(kPrint, keys).size(), 3u);
  const auto read = held.newly_read();
  ASSERT_EQ(read.size(), 1u);
  EXPECT_EQ(read[0], std::make_pair(dead.dir, std::int64_t{3}));
  EXPECT_TRUE(held.newly_read().empty()) << "reported once";
  // A second hold of the same store (a later death notice) keeps one lease, the later time.
  auto again = OrphanStores::lease(orphans, dead.dir);
  ASSERT_TRUE(again.ok());
  held.hold(std::move(*again), t0 + std::chrono::seconds(20));
  EXPECT_EQ(held.size(), 1u);
  EXPECT_TRUE(held.expire(t0 + std::chrono::seconds(15)).empty());
  EXPECT_TRUE(held.extend(dead.dir, t0 + std::chrono::seconds(30)));
  EXPECT_FALSE(held.extend(dead.dir + "-other", t0 + std::chrono::seconds(30)));
  EXPECT_TRUE(held.expire(t0 + std::chrono::seconds(25)).empty());
  EXPECT_TRUE(orphans->any());
  const auto gone = held.expire(t0 + std::chrono::seconds(30));
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0].second, 3);
  EXPECT_EQ(held.size(), 0u);
  EXPECT_FALSE(orphans->any()) << "the store closes with its last lease";
}

}  // namespace
}  // namespace agentrt::cluster
