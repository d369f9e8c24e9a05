// KvManager::stop_sealing (issue 21): blocks holding placed (blended) KV never serve a
// prefix match, a pin or a fork's later seal.
#include <gtest/gtest.h>

#include <numeric>

#include "engine/kv/fake_block_memory.h"
#include "engine/kv/kv_manager.h"

namespace agentrt::kv {
namespace {

constexpr int kBs = 4;

std::vector<std::int32_t> iota(int n) {
  std::vector<std::int32_t> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), 0);
  return v;
}

struct Fixture {
  Fixture() : mem(16, kBs) {
    auto m = KvManager::create({16, kBs, "fp", true, 0}, {&mem, &clock, {}, nullptr});
    EXPECT_TRUE(m.ok());
    kv = std::move(*m);
  }
  // Computes `tokens` for seq, stops sealing at `from` before the commit (as the engine does).
  void run(SeqId seq, const std::vector<std::int32_t>& tokens, std::int64_t from) {
    auto hit = kv->open(seq, tokens);
    ASSERT_TRUE(hit.ok());
    ASSERT_TRUE(kv->reserve(seq, std::ssize(tokens)).ok());
    if (from >= 0) kv->stop_sealing(seq, from);
    auto rest = std::span(tokens).subspan(static_cast<std::size_t>(*hit));
    mem.write_tokens(kv->block_table(seq), static_cast<std::size_t>(*hit), rest);
    ASSERT_TRUE(kv->commit(seq, rest).ok());
  }
  testing::FakeBlockMemory mem;
  FakeClock clock;
  std::unique_ptr<KvManager> kv;
};

TEST(KvManagerBlend, BlocksFromTheFirstPlacedTokenAreNeverMatched) {
  Fixture f;
  f.run(1, iota(17), 9);  // placed KV from token 9: blocks 0-1 stay sealable, 2-3 not
  f.kv->release(1);
  auto hit = f.kv->open(2, iota(17));
  ASSERT_TRUE(hit.ok());
  EXPECT_EQ(*hit, 8);  // two blocks, not four
  f.kv->release(2);
  EXPECT_TRUE(f.kv->check_invariants().ok());
}

TEST(KvManagerBlend, ForksAndPinsKeepTheLimit) {
  Fixture f;
  f.run(1, iota(13), 5);  // only block 0 is sealable
  ASSERT_TRUE(f.kv->fork(1, 2).ok());
  ASSERT_TRUE(f.kv->reserve(2, 17).ok());
  const std::vector<std::int32_t> more{13, 14, 15, 16};
  f.mem.write_tokens(f.kv->block_table(2), 13, more);
  ASSERT_TRUE(f.kv->commit(2, more).ok());  // the fork's commit does not seal blocks 1-3
  ASSERT_TRUE(f.kv->pin(7, 2, std::chrono::seconds(10)).ok());
  f.kv->release(1);
  f.kv->release(2);
  auto hit = f.kv->open(3, iota(17));
  ASSERT_TRUE(hit.ok());
  EXPECT_EQ(*hit, 4);
  f.kv->release(3);
  f.kv->unpin(7);
  EXPECT_TRUE(f.kv->check_invariants().ok());
}

}  // namespace
}  // namespace agentrt::kv
