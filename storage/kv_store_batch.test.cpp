// KvStore's batch API (put_many as one WriteBatch, get_many as one MultiGet) and the
// runtime's tier factory (one store per fingerprint on a shared Db).
#include <gtest/gtest.h>

#include <thread>

#include "storage/kv_store_testing.h"

namespace agentrt::storage {
namespace {

using testing::TempDir;

kv::BlockKey key(int i) {
  return {static_cast<std::uint64_t>(i), 0x55};
}

kv::KvTier::Value payload(int seed) {
  return kv::KvTier::Value(300, static_cast<std::byte>(seed));
}

std::vector<kv::KvTier::Item> items(std::initializer_list<int> ids) {
  std::vector<kv::KvTier::Item> out;
  for (int i : ids)
    out.emplace_back(key(i), payload(i));
  return out;
}

TEST(KvStoreBatch, PutManyAndGetManyRoundTripInOrder) {
  TempDir dir;
  auto store = KvStore::open(dir.path(), "model");
  ASSERT_TRUE(store.ok());
  EXPECT_TRUE((*store)->thread_safe());
  ASSERT_TRUE((*store)->put_many(items({1, 2, 3})).ok());
  const std::vector<kv::BlockKey> keys{key(3), key(9), key(1)};
  auto got = (*store)->get_many(keys);
  ASSERT_TRUE(got.ok()) << got.error().to_string();
  ASSERT_EQ(got->size(), 3u);
  EXPECT_EQ((*got)[0], payload(3));
  EXPECT_FALSE((*got)[1].has_value());
  EXPECT_EQ((*got)[2], payload(1));
  auto none = (*store)->get_many({});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(KvStoreBatch, GetManyDropsACorruptValueAndServesTheOthers) {
  TempDir dir;
  std::string row;
  {
    auto store = KvStore::open(dir.path(), "model");
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->put_many(items({1, 2})).ok());
    row = (*store)->row_key(key(2));
  }
  {
    testing::RawDb raw(dir.path());
    auto v = raw.get(row);
    ASSERT_TRUE(v);
    v->back() = static_cast<char>(v->back() ^ 1);
    ASSERT_TRUE(raw.put(row, *v));
  }
  auto store = KvStore::open(dir.path(), "model");
  ASSERT_TRUE(store.ok());
  const std::vector<kv::BlockKey> keys{key(1), key(2)};
  auto got = (*store)->get_many(keys);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ((*got)[0], payload(1));
  EXPECT_FALSE((*got)[1].has_value());
  EXPECT_EQ((*store)->corrupt_dropped(), 1);
}

TEST(KvStoreBatch, AFailedPutManyStoresNothing) {
  TempDir dir;
  auto fs = std::make_shared<testing::FaultyFs>();
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
  KvStoreOptions o;
  o.env = env.get();
  auto store = KvStore::open(dir.path(), "model", o);
  ASSERT_TRUE(store.ok());
  fs->fail_writes = true;
  EXPECT_FALSE((*store)->put_many(items({1, 2, 3})).ok());
  fs->fail_writes = false;
  const std::vector<kv::BlockKey> keys{key(1), key(2), key(3)};
  auto got = (*store)->get_many(keys);
  ASSERT_TRUE(got.ok());
  for (const auto& v : *got)
    EXPECT_FALSE(v.has_value());
  EXPECT_EQ((*store)->bytes_used(), 0u);
}

TEST(KvStoreFactory, OpensOneStorePerFingerprint) {
  TempDir dir;
  auto db = Db::open(dir.path());
  ASSERT_TRUE(db.ok());
  auto factory = KvStore::tier_factory(*db, {});
  std::vector<std::shared_ptr<kv::KvTier>> got(8);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < got.size(); ++i) {
    threads.emplace_back([&, i] {
      auto t = factory("model-a");
      EXPECT_TRUE(t.ok());
      if (t.ok()) got[i] = *t;
    });
  }
  for (auto& t : threads)
    t.join();
  for (const auto& t : got)
    EXPECT_EQ(t.get(), got[0].get());
  auto b = factory("model-b");
  ASSERT_TRUE(b.ok());
  EXPECT_NE(b->get(), got[0].get());
  ASSERT_TRUE(got[0]->put(key(1), payload(1)).ok());
  auto miss = (*b)->get(key(1));  // another model's block
  ASSERT_TRUE(miss.ok());
  EXPECT_FALSE(miss->has_value());
  EXPECT_TRUE(got[0]->thread_safe());
}

}  // namespace
}  // namespace agentrt::storage
