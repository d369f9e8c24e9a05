// KvStore as the KV manager's persistent tier: blocks survive a restart and are promoted
// back to the device on a prefix hit; a corrupt block is recomputed, never served.
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <unistd.h>

#include "engine/kv/fake_block_memory.h"
#include "engine/kv/host_tier.h"
#include "engine/kv/kv_manager.h"
#include "storage/kv_store.h"

namespace agentrt::storage {
namespace {

constexpr int kBs = 4;

struct Dir {
  Dir() {
    std::string p = (std::filesystem::temp_directory_path() / "agentrt-kvt-XXXXXX").string();
    if (::mkdtemp(p.data()) == nullptr) std::abort();
    path = p;
  }
  ~Dir() { std::filesystem::remove_all(path); }
  std::filesystem::path path;
};

// One "process": a manager over a fresh device pool, a host tier of 0 bytes (so evictions
// go straight to the store) and the store.
struct Process {
  explicit Process(const std::filesystem::path& dir) : mem(4, kBs), host(0) {
    auto s = KvStore::open(dir, "model");
    EXPECT_TRUE(s.ok());
    store = std::move(*s);
    host = kv::HostTier(0, store.get());
    auto m = kv::KvManager::create({4, kBs, "model", true, 0},
                                   {&mem, &clock, {&host, store.get()}, nullptr});
    EXPECT_TRUE(m.ok());
    kv = std::move(*m);
  }
  std::int64_t run(kv::SeqId seq, const std::vector<std::int32_t>& t) {
    auto hit = kv->open(seq, t);
    EXPECT_TRUE(hit.ok());
    EXPECT_TRUE(kv->reserve(seq, std::ssize(t)).ok());
    auto rest = std::span(t).subspan(static_cast<std::size_t>(*hit));
    mem.write_tokens(kv->block_table(seq), static_cast<std::size_t>(*hit), rest);
    EXPECT_TRUE(kv->commit(seq, rest).ok());
    EXPECT_TRUE(mem.holds(kv->block_table(seq), t));
    kv->release(seq);
    return *hit;
  }
  kv::testing::FakeBlockMemory mem;
  kv::FakeClock clock;
  std::unique_ptr<KvStore> store;
  kv::HostTier host;
  std::unique_ptr<kv::KvManager> kv;
};

const std::vector<std::int32_t> kPrompt{1, 2, 3, 4, 5, 6, 7, 8, 9};
const std::vector<std::int32_t> kOther{20, 21, 22, 23, 24, 25, 26, 27,
                                       28, 29, 30, 31, 32, 33, 34, 35};

TEST(KvStoreTier, BlocksSurviveRestartAndArePromoted) {
  Dir dir;
  {
    Process a(dir.path);
    a.run(1, kPrompt);
    a.run(2, kOther);  // evicts kPrompt's two full blocks into the store
    EXPECT_GE(a.kv->metrics().offloaded_blocks, 2);
  }
  Process b(dir.path);
  EXPECT_EQ(b.run(1, kPrompt), 8);  // run() checks the promoted content
  EXPECT_EQ(b.kv->metrics().hit_tokens[2], 8);
}

TEST(KvStoreTier, CorruptBlockIsRecomputed) {
  Dir dir;
  std::string row;
  {
    Process a(dir.path);
    a.run(1, kPrompt);
    a.run(2, kOther);
    const auto k0 = kv::chain_key(kv::root_key("model"), std::span(kPrompt).first(4), "model");
    row = a.store->row_key(k0);
  }
  {
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs{
        {rocksdb::kDefaultColumnFamilyName, {}}, {"kv_blocks", {}}, {"kv_meta", {}}};
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open({}, dir.path.string(), cfs, &handles, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    std::string v;
    ASSERT_TRUE(db->Get({}, handles[1], row, &v).ok());
    v.back() = static_cast<char>(v.back() ^ 1);  // one bit of the payload
    ASSERT_TRUE(db->Put({}, handles[1], row, v).ok());
    for (auto* h : handles)
      ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
  }
  Process b(dir.path);
  EXPECT_EQ(b.run(1, kPrompt), 0);  // the first block is bad, so nothing after it is used
  EXPECT_EQ(b.store->corrupt_dropped(), 1);
}

}  // namespace
}  // namespace agentrt::storage
