// KvStore as the KV manager's persistent tier: blocks survive a restart and are promoted
// back to the device on a prefix hit; a corrupt block is recomputed, never served.
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include "storage/kv_store_testing.h"

namespace agentrt::storage {
namespace {

using testing::kOther;
using testing::kPrompt;
using testing::Process;

struct Dir {
  testing::TempDir tmp;
  const std::filesystem::path& path = tmp.path();
};

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
    auto db = Db::open(dir.path);
    ASSERT_TRUE(db.ok());
    auto* blocks = (*db)->cf(Cf::kv_blocks);
    std::string v;
    ASSERT_TRUE((*db)->raw()->Get({}, blocks, row, &v).ok());
    v.back() = static_cast<char>(v.back() ^ 1);  // one bit of the payload
    ASSERT_TRUE((*db)->raw()->Put({}, blocks, row, v).ok());
  }
  Process b(dir.path);
  EXPECT_EQ(b.run(1, kPrompt), 0);  // the first block is bad, so nothing after it is used
  EXPECT_EQ(b.store->corrupt_dropped(), 1);
}

}  // namespace
}  // namespace agentrt::storage
