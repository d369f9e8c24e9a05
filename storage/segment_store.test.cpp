// The segment cache's persistent tier on a real KvStore (issue 21): segments survive a
// restart (a new store over the same directory), a damaged row is dropped and recomputed,
// and a segment never shares a row with the block of the same tokens.
#include <gtest/gtest.h>

#include "engine/kv/segment_cache.h"
#include "storage/kv_store_testing.h"

namespace agentrt::storage {
namespace {

constexpr std::size_t kTkb = 64;  // token KV bytes of the test layout
const std::vector<std::int32_t> kTokens{3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3};

kv::SegmentEntry entry() {
  kv::SegmentEntry e;
  e.tokens = kTokens;
  e.position = 40;
  for (std::size_t i = 0; i < kTokens.size() * kTkb; ++i)
    e.kv.push_back(static_cast<std::byte>(i % 251));
  return e;
}

kv::SegmentStoreOptions on(KvStore& store) {
  kv::SegmentStoreOptions o;
  o.tier = &store;
  o.token_kv_bytes = kTkb;
  return o;
}

TEST(SegmentStore, SegmentsSurviveARestartOfTheStore) {
  testing::TempDir dir;
  std::string row;
  {
    auto store = KvStore::open(dir.path(), "model");
    ASSERT_TRUE(store.ok()) << store.error().to_string();
    kv::SegmentCache cache(1 << 20, "model|layout", on(**store));
    ASSERT_TRUE(cache.insert(entry()));
    ASSERT_TRUE(cache.flush().ok());
    EXPECT_EQ(cache.stats().store_written, 1);
    row = (**store).row_key(cache.key(kTokens));
    // Not the row of the block of the same 16 tokens.
    const auto block = kv::chain_key(kv::root_key("model|layout"), kTokens, "model|layout");
    EXPECT_NE(row, (**store).row_key(block));
  }
  auto store = KvStore::open(dir.path(), "model");
  ASSERT_TRUE(store.ok());
  kv::SegmentCache cache(1 << 20, "model|layout", on(**store));
  auto hit = cache.find(kTokens);
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(hit->position, 40);
  EXPECT_EQ(hit->kv, entry().kv);
  EXPECT_EQ(cache.stats().store_hits, 1);
}

TEST(SegmentStore, ADamagedRowIsDroppedAndTheSegmentRecomputed) {
  testing::TempDir dir;
  std::string row;
  {
    auto store = KvStore::open(dir.path(), "model");
    ASSERT_TRUE(store.ok());
    kv::SegmentCache cache(1 << 20, "model|layout", on(**store));
    ASSERT_TRUE(cache.insert(entry()));
    ASSERT_TRUE(cache.flush().ok());
    row = (**store).row_key(cache.key(kTokens));
  }
  {
    testing::RawDb db(dir.path());
    ASSERT_TRUE(db.ok());
    auto v = db.get(row);
    ASSERT_TRUE(v.has_value());
    (*v)[v->size() - 7] ^= 0x10;  // one KV byte
    ASSERT_TRUE(db.put(row, *v));
  }
  auto store = KvStore::open(dir.path(), "model");
  ASSERT_TRUE(store.ok());
  kv::SegmentCache cache(1 << 20, "model|layout", on(**store));
  EXPECT_EQ(cache.find(kTokens), nullptr);  // a miss: the engine recomputes it
  EXPECT_EQ((**store).corrupt_dropped(), 1);
  ASSERT_TRUE(cache.insert(entry()));
  ASSERT_TRUE(cache.flush().ok());
  kv::SegmentCache later(1 << 20, "model|layout", on(**store));
  EXPECT_NE(later.find(kTokens), nullptr);
}

}  // namespace
}  // namespace agentrt::storage
