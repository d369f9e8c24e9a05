// KvStore: round trips, persistence across reopen, model isolation, and corrupt values
// dropped rather than served.
#include "storage/kv_store.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <unistd.h>

namespace agentrt::storage {
namespace {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "agentrt-kv-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    path_ = pattern;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::vector<std::byte> payload(int n, int seed) {
  std::vector<std::byte> v(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i)
    v[static_cast<std::size_t>(i)] = static_cast<std::byte>(i * 7 + seed);
  return v;
}

const kv::BlockKey kKey{0x0123456789abcdefull, 0xfedcba9876543210ull};

TEST(KvStore, RoundTripsAndPersistsAcrossReopen) {
  TempDir dir;
  {
    auto store = KvStore::open(dir.path(), "model-a");
    ASSERT_TRUE(store.ok()) << store.error().to_string();
    ASSERT_TRUE((*store)->put(kKey, payload(1000, 1)).ok());
    auto got = (*store)->get(kKey);
    ASSERT_TRUE(got.ok() && got->has_value());
    EXPECT_EQ(**got, payload(1000, 1));
  }
  auto store = KvStore::open(dir.path(), "model-a");
  ASSERT_TRUE(store.ok());
  auto got = (*store)->get(kKey);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ(**got, payload(1000, 1));
  ASSERT_TRUE((*store)->erase(kKey).ok());
  got = (*store)->get(kKey);
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
}

TEST(KvStore, OtherModelsDoNotSeeTheBlock) {
  TempDir dir;
  {
    auto a = KvStore::open(dir.path(), "model-a");
    ASSERT_TRUE(a.ok());
    ASSERT_TRUE((*a)->put(kKey, payload(64, 2)).ok());
  }
  auto b = KvStore::open(dir.path(), "model-b");
  ASSERT_TRUE(b.ok());
  auto got = (*b)->get(kKey);
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
}

// A cluster node's resync snapshot lists its store's keys: most recently used first, this
// model's only, the same after a reopen (a restarted node reports what it kept).
TEST(KvStore, ListsItsModelsKeysMostRecentFirstAcrossReopen) {
  TempDir dir;
  const kv::BlockKey k1{1, 10}, k2{2, 20}, k3{3, 30}, other{4, 40};
  auto keys_of = [](const KvStore& store, std::size_t max) {
    std::vector<kv::BlockKey> out;
    store.list_keys(out, max);
    return out;
  };
  {
    auto db = Db::open(dir.path());
    ASSERT_TRUE(db.ok());
    auto a = KvStore::open(*db, "model-a");
    auto b = KvStore::open(*db, "model-b");
    ASSERT_TRUE(a.ok() && b.ok());
    for (const auto& k : {k1, k2, k3})
      ASSERT_TRUE((*a)->put(k, payload(64, 3)).ok());
    ASSERT_TRUE((*b)->put(other, payload(64, 4)).ok());
    auto got = (*a)->get(k1);  // k1 becomes the most recently used
    ASSERT_TRUE(got.ok() && got->has_value());
    EXPECT_EQ(keys_of(**a, 10), (std::vector<kv::BlockKey>{k1, k3, k2}));
    EXPECT_EQ(keys_of(**a, 2), (std::vector<kv::BlockKey>{k1, k3}));
    EXPECT_EQ(keys_of(**b, 10), (std::vector<kv::BlockKey>{other}));
    ASSERT_TRUE((*a)->erase(k3).ok());
  }
  auto a = KvStore::open(dir.path(), "model-a");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(keys_of(**a, 10), (std::vector<kv::BlockKey>{k1, k2}));
}

// Another process's store, read-only while its owner still has it open (or died with its
// writes only in the WAL): the chain of keys up to the first block it lacks, this model's
// rows only, and the store left as it was.
TEST(KvStore, ReadsAChainOfBlocksFromAStoreOpenedReadOnly) {
  TempDir dir;
  const kv::BlockKey k1{1, 10}, k2{2, 20}, k3{3, 30}, absent{9, 90};
  auto db = Db::open(dir.path());
  ASSERT_TRUE(db.ok());
  auto owner = KvStore::open(*db, "model-a");
  ASSERT_TRUE(owner.ok());
  ASSERT_TRUE((*owner)->put(k1, payload(64, 1)).ok());
  ASSERT_TRUE((*owner)->put(k2, payload(64, 2)).ok());
  ASSERT_TRUE((*owner)->put(k3, payload(64, 3)).ok());  // unflushed: in the WAL only

  auto ro = Db::open_read_only(dir.path());
  ASSERT_TRUE(ro.ok()) << ro.error().to_string();
  const std::vector<kv::BlockKey> chain{k1, k2, absent, k3};
  auto got = read_kv_chain(**ro, "model-a", chain);
  ASSERT_TRUE(got.ok()) << got.error().to_string();
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[0], payload(64, 1));
  EXPECT_EQ((*got)[1], payload(64, 2));
  auto other = read_kv_chain(**ro, "model-b", chain);
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(other->empty());
  EXPECT_FALSE((*ro)->raw()->Put({}, (*ro)->cf(Cf::kv_blocks), "x", "y").ok());  // read-only

  auto missing = Db::open_read_only(dir.path() / "nothing-here");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::io);
}

// Flips one byte of the stored value at `offset` through RocksDB directly.
void corrupt(const std::filesystem::path& dir, const std::string& row, std::size_t offset) {
  auto db = Db::open(dir);
  ASSERT_TRUE(db.ok());
  auto* blocks = (*db)->cf(Cf::kv_blocks);
  std::string value;
  ASSERT_TRUE((*db)->raw()->Get({}, blocks, row, &value).ok());
  ASSERT_LT(offset, value.size());
  value[offset] = static_cast<char>(value[offset] ^ 0x5a);
  ASSERT_TRUE((*db)->raw()->Put({}, blocks, row, value).ok());
}

class KvStoreCorrupt : public ::testing::TestWithParam<std::size_t> {};

TEST_P(KvStoreCorrupt, CorruptValueIsDroppedNeverServed) {
  TempDir dir;
  std::string row;
  {
    auto store = KvStore::open(dir.path(), "model-a");
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->put(kKey, payload(256, 3)).ok());
    row = (*store)->row_key(kKey);
  }
  corrupt(dir.path(), row, GetParam());
  auto store = KvStore::open(dir.path(), "model-a");
  ASSERT_TRUE(store.ok());
  auto got = (*store)->get(kKey);
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
  EXPECT_EQ((*store)->corrupt_dropped(), 1);
  got = (*store)->get(kKey);  // dropped: now simply absent
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
  EXPECT_EQ((*store)->corrupt_dropped(), 1);
}

// Magic, format version, model key, block key, checksum, payload.
INSTANTIATE_TEST_SUITE_P(Offsets, KvStoreCorrupt, ::testing::Values(0u, 4u, 10u, 30u, 50u, 100u));

}  // namespace
}  // namespace agentrt::storage
