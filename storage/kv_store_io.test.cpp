// KvStore under I/O errors, injected through a RocksDB FileSystem (chmod does not stop root):
// a failed read is an error or a miss, never a value, and the KV manager recomputes; a
// failed write refuses the put and the manager carries on; a store that cannot open says so.
#include <gtest/gtest.h>

#include <fstream>

#include "storage/kv_store_testing.h"

namespace agentrt::storage {
namespace {

using namespace testing;

struct FaultyEnv {
  std::shared_ptr<FaultyFs> fs = std::make_shared<FaultyFs>();
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
  KvStoreOptions options() const { return {env.get()}; }
};

// kPrompt's blocks in the store, on disk (a reopen flushes them out of the memtable).
void fill(const std::filesystem::path& dir, const FaultyEnv& faults) {
  {
    Process a(dir, faults.options());
    a.run(1, kPrompt);
    a.run(2, kOther);  // evicts kPrompt's two full blocks into the store
  }
  Process flushed(dir, faults.options());
}

TEST(KvStoreIo, ReadErrorsAreNeverServedAndTheBlockIsRecomputed) {
  TempDir dir;
  FaultyEnv faults;
  fill(dir.path(), faults);
  {
    Process b(dir.path(), faults.options());
    ASSERT_TRUE(b.store);
    faults.fs->fail_reads = true;
    auto got = b.store->get(first_block_key());
    EXPECT_TRUE(!got.ok() || !got->has_value()) << "a value came back through a failed read";
    if (!got.ok()) {
      EXPECT_EQ(got.error().code, ErrorCode::io);
    }
    EXPECT_EQ(b.run(1, kPrompt), 0);  // computed, and run() checks the contents
    EXPECT_GT(faults.fs->failed.load(), 0) << "the fault was never hit";
    EXPECT_EQ(b.store->corrupt_dropped(), 0);  // an I/O error is not corruption
    faults.fs->fail_reads = false;
  }
  // Nothing was deleted for it: once reads work again the blocks are served.
  Process c(dir.path(), faults.options());
  EXPECT_EQ(c.run(1, kPrompt), 8);
}

TEST(KvStoreIo, WriteErrorsRefuseThePutAndEvictionCarriesOn) {
  TempDir dir;
  FaultyEnv faults;
  Process a(dir.path(), faults.options());
  ASSERT_TRUE(a.store);
  faults.fs->fail_writes = true;
  EXPECT_FALSE(a.store->put(first_block_key(), std::vector<std::byte>(16)).ok());
  a.run(1, kPrompt);
  a.run(2, kOther);  // evictions try the store and fail
  EXPECT_GT(a.kv->metrics().evictions, 0);
  EXPECT_EQ(a.kv->metrics().offloaded_blocks, 0);
  EXPECT_GT(faults.fs->failed.load(), 0);
  EXPECT_EQ(a.run(3, kPrompt), 0);  // nothing was stored: computed again
}

TEST(KvStoreIo, OpenFailsCleanlyWhereNoDatabaseCanBe) {
  TempDir dir;
  const auto file = dir.path() / "not-a-dir";
  std::ofstream(file) << "x";
  auto store = KvStore::open(file, "model");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, ErrorCode::io);
  EXPECT_NE(store.error().message.find(file.string()), std::string::npos) << store.error().message;
}

TEST(KvStoreIo, OpenFailsCleanlyWhenTheFileSystemFails) {
  TempDir dir;
  FaultyEnv faults;
  faults.fs->fail_writes = true;
  auto store = KvStore::open(dir.path() / "db", "model", faults.options());
  EXPECT_FALSE(store.ok());
}

}  // namespace
}  // namespace agentrt::storage
