// KvStore with max_bytes: writes past the bound delete the least recently used rows (a get is
// a use), the bound and the recency survive a reopen, and a write larger than the bound is
// refused.
#include <gtest/gtest.h>

#include <thread>

#include "storage/kv_store_testing.h"

namespace agentrt::storage {
namespace {

using testing::TempDir;

constexpr std::size_t kPayload = 1000;
// Bytes a row of kPayload takes: row key (32), value header (56) and payload.
constexpr std::uint64_t kRowBytes = 32 + testing::kHeaderBytes + kPayload;

kv::BlockKey key(int i) {
  return {static_cast<std::uint64_t>(i), 0x77};
}

std::vector<std::byte> payload(int seed) {
  return std::vector<std::byte>(kPayload, static_cast<std::byte>(seed));
}

std::unique_ptr<KvStore> open(const std::filesystem::path& dir, int rows) {
  KvStoreOptions o;
  o.max_bytes = kRowBytes * static_cast<std::uint64_t>(rows) + 10;
  auto s = KvStore::open(dir, "model", o);
  EXPECT_TRUE(s.ok()) << s.error().to_string();
  return s.ok() ? std::move(*s) : nullptr;
}

// Which of keys 1..n the store holds (each get is a use).
std::vector<int> held(KvStore& store, int n) {
  std::vector<int> out;
  for (int i = 1; i <= n; ++i) {
    auto got = store.get(key(i));
    EXPECT_TRUE(got.ok());
    if (got.ok() && got->has_value()) {
      EXPECT_EQ(**got, payload(i));
      out.push_back(i);
    }
  }
  return out;
}

TEST(KvStoreBound, PutsPastMaxBytesDeleteTheOldest) {
  TempDir dir;
  auto store = open(dir.path(), 3);
  ASSERT_TRUE(store);
  for (int i = 1; i <= 5; ++i)
    ASSERT_TRUE(store->put(key(i), payload(i)).ok());
  EXPECT_EQ(store->lru_deleted(), 2);
  EXPECT_EQ(store->bytes_used(), 3 * kRowBytes);
  // The deleted blocks are told once (KvTier::take_dropped: a node's KV events).
  std::vector<kv::BlockKey> dropped;
  store->take_dropped(dropped);
  EXPECT_EQ(dropped, (std::vector<kv::BlockKey>{key(1), key(2)}));
  dropped.clear();
  store->take_dropped(dropped);
  EXPECT_TRUE(dropped.empty());
  EXPECT_EQ(held(*store, 5), (std::vector<int>{3, 4, 5}));
}

TEST(KvStoreBound, AGetRefreshesRecency) {
  TempDir dir;
  auto store = open(dir.path(), 3);
  ASSERT_TRUE(store);
  for (int i = 1; i <= 3; ++i)
    ASSERT_TRUE(store->put(key(i), payload(i)).ok());
  ASSERT_TRUE(store->get(key(1)).ok());
  ASSERT_TRUE(store->put(key(4), payload(4)).ok());  // deletes 2, the least recently used
  EXPECT_EQ(held(*store, 4), (std::vector<int>{1, 3, 4}));
}

TEST(KvStoreBound, SizesAndRecencySurviveReopen) {
  TempDir dir;
  {
    auto store = open(dir.path(), 3);
    ASSERT_TRUE(store);
    for (int i = 1; i <= 3; ++i)
      ASSERT_TRUE(store->put(key(i), payload(i)).ok());
    ASSERT_TRUE(store->get(key(1)).ok());  // order now 2, 3, 1
  }
  {
    auto store = open(dir.path(), 3);
    ASSERT_TRUE(store);
    EXPECT_EQ(store->bytes_used(), 3 * kRowBytes);
    ASSERT_TRUE(store->put(key(4), payload(4)).ok());  // deletes 2
    EXPECT_EQ(store->lru_deleted(), 1);
  }
  // A smaller bound trims on open, oldest first: order was 3, 1, 4.
  auto store = open(dir.path(), 1);
  ASSERT_TRUE(store);
  EXPECT_EQ(store->lru_deleted(), 2);
  EXPECT_EQ(held(*store, 4), (std::vector<int>{4}));
}

TEST(KvStoreBound, AWriteLargerThanTheBoundIsRefused) {
  TempDir dir;
  auto store = open(dir.path(), 1);
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->put(key(1), payload(1)).ok());
  auto s = store->put(key(2), std::vector<std::byte>(2 * kPayload));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::out_of_memory);
  EXPECT_EQ(held(*store, 2), (std::vector<int>{1}));  // nothing deleted for it
}

TEST(KvStoreBound, UnboundedStoreKeepsEverything) {
  TempDir dir;
  auto s = KvStore::open(dir.path(), "model");
  ASSERT_TRUE(s.ok());
  for (int i = 1; i <= 5; ++i)
    ASSERT_TRUE((*s)->put(key(i), payload(i)).ok());
  EXPECT_EQ((*s)->bytes_used(), 5 * kRowBytes);
  EXPECT_EQ(held(**s, 5).size(), 5u);
}

TEST(KvStoreBound, ConcurrentPutsAndGetsStayWithinTheBound) {
  TempDir dir;
  auto store = open(dir.path(), 8);
  ASSERT_TRUE(store);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&store, t] {
      for (int i = 0; i < 50; ++i) {
        const int k = 1 + (t * 50 + i) % 20;
        EXPECT_TRUE(store->put(key(k), payload(k)).ok());
        auto got = store->get(key(1 + i % 20));
        EXPECT_TRUE(got.ok());
        if (got.ok() && got->has_value()) {
          EXPECT_EQ(**got, payload(1 + i % 20));
        }
      }
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_LE(store->bytes_used(), 8 * kRowBytes + 10);
  EXPECT_LE(held(*store, 20).size(), 8u);
}

}  // namespace
}  // namespace agentrt::storage
