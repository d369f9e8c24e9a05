// KvManager's batched tier copies: the blocks an open() promotes from the host tier are
// written with one BlockMemory::write_many, the blocks evicted to make room for them read
// with one read_many, and a failed batch ends the prefix before its first block.
#include <gtest/gtest.h>

#include <numeric>

#include "engine/kv/fake_block_memory.h"
#include "engine/kv/host_tier.h"
#include "engine/kv/kv_manager.h"

namespace agentrt::kv {
namespace {

constexpr int kBs = 4;

// FakeBlockMemory counting single and batched copies.
class CountingMemory final : public BlockMemory {
 public:
  explicit CountingMemory(int blocks) : mem(blocks, kBs) {}
  std::size_t block_bytes() const override { return mem.block_bytes(); }
  Status copy(std::span<const std::pair<std::int32_t, std::int32_t>> pairs) override {
    return mem.copy(pairs);
  }
  Status read(std::int32_t id, std::span<std::byte> out) override {
    ++reads;
    return mem.read(id, out);
  }
  Status write(std::int32_t id, std::span<const std::byte> in) override {
    ++writes;
    return mem.write(id, in);
  }
  Status read_many(std::span<const std::int32_t> ids,
                   std::span<const std::span<std::byte>> out) override {
    ++read_batches;
    read_batch_blocks += std::ssize(ids);
    for (std::size_t i = 0; i < ids.size(); ++i)
      AGENTRT_TRY(mem.read(ids[i], out[i]));
    return ok_status();
  }
  Status write_many(std::span<const std::int32_t> ids,
                    std::span<const std::span<const std::byte>> in) override {
    ++write_batches;
    write_batch_blocks += std::ssize(ids);
    if (fail_batches) return make_error(ErrorCode::io, "write_many refused (test)");
    for (std::size_t i = 0; i < ids.size(); ++i)
      AGENTRT_TRY(mem.write(ids[i], in[i]));
    return ok_status();
  }

  testing::FakeBlockMemory mem;
  int reads = 0, writes = 0, read_batches = 0, write_batches = 0;
  std::int64_t read_batch_blocks = 0, write_batch_blocks = 0;
  bool fail_batches = false;
};

struct Fixture {
  explicit Fixture(int blocks)
      : mem(blocks), host(std::size_t{64} * mem.block_bytes(), nullptr, mem.block_bytes()) {
    auto m = KvManager::create({blocks, kBs, "fp", true, 0}, {&mem, &clock, {&host}, nullptr});
    EXPECT_TRUE(m.ok());
    kv = std::move(*m);
  }
  std::int64_t run(SeqId seq, const std::vector<std::int32_t>& tokens) {
    auto hit = kv->open(seq, tokens);
    EXPECT_TRUE(hit.ok());
    EXPECT_TRUE(kv->reserve(seq, std::ssize(tokens)).ok());
    auto rest = std::span(tokens).subspan(static_cast<std::size_t>(*hit));
    mem.mem.write_tokens(kv->block_table(seq), static_cast<std::size_t>(*hit), rest);
    EXPECT_TRUE(kv->commit(seq, rest).ok());
    EXPECT_TRUE(mem.mem.holds(kv->block_table(seq), tokens));
    return *hit;
  }
  CountingMemory mem;
  FakeClock clock;
  HostTier host;
  std::unique_ptr<KvManager> kv;
};

std::vector<std::int32_t> iota(int n, int from = 0) {
  std::vector<std::int32_t> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), from);
  return v;
}

TEST(KvManagerBatch, HostHitsAreWrittenTogetherAndEvictionsReadTogether) {
  Fixture f(4);
  f.run(1, iota(13));  // 3 full blocks and a partial one
  f.kv->release(1);
  f.run(2, iota(16, 100));  // evicts seq 1's 3 blocks, one by one, into host slots
  f.kv->release(2);
  EXPECT_EQ(f.kv->metrics().offloaded_blocks, 3);
  EXPECT_EQ(f.host.size(), 3u);
  EXPECT_EQ(f.mem.reads, 3);  // straight into the slots: no other copy
  EXPECT_EQ(f.mem.write_batches, 0);

  const int reads = f.mem.reads, writes = f.mem.writes;
  ASSERT_TRUE(f.kv->open(3, iota(13)).ok());
  EXPECT_EQ(f.kv->computed(3), 12);
  EXPECT_EQ(f.mem.write_batches, 1);
  EXPECT_EQ(f.mem.write_batch_blocks, 3);
  EXPECT_EQ(f.mem.read_batches, 1);  // seq 2's blocks made room
  EXPECT_EQ(f.mem.read_batch_blocks, 3);
  EXPECT_EQ(f.mem.reads, reads);
  EXPECT_EQ(f.mem.writes, writes);
  EXPECT_TRUE(f.mem.mem.holds(f.kv->block_table(3), iota(12)));
  EXPECT_EQ(f.kv->metrics().hit_tokens[1], 12);
  EXPECT_EQ(f.kv->metrics().offloaded_blocks, 6);
  EXPECT_TRUE(f.kv->check_invariants().ok());
  f.kv->release(3);

  // The blocks evicted in the batch came through it intact.
  EXPECT_EQ(f.run(4, iota(16, 100)), 12);
  EXPECT_GE(f.kv->metrics().hit_tokens[1], 12 + 8);  // at least 2 of the 3 from the batch
  EXPECT_TRUE(f.kv->check_invariants().ok());
}

TEST(KvManagerBatch, PinPrefixWritesItsPrefetchInOneBatch) {
  Fixture f(4);
  f.run(1, iota(13));
  f.kv->release(1);
  f.run(2, iota(16, 100));
  f.kv->release(2);
  auto pinned = f.kv->pin_prefix(7, iota(13), std::chrono::seconds(10));
  ASSERT_TRUE(pinned.ok());
  EXPECT_EQ(*pinned, 12);
  EXPECT_EQ(f.mem.write_batches, 1);
  EXPECT_EQ(f.kv->metrics().prefetched_blocks, 3);
  EXPECT_EQ(f.run(3, iota(13)), 12);  // on the device now, the bytes checked by run()
  EXPECT_TRUE(f.kv->check_invariants().ok());
}

TEST(KvManagerBatch, FailedBatchEndsThePrefixAndLeaksNothing) {
  Fixture f(4);
  f.run(1, iota(13));
  f.kv->release(1);
  f.run(2, iota(16, 100));
  f.kv->release(2);
  f.mem.fail_batches = true;
  EXPECT_EQ(f.run(3, iota(13)), 0);  // computed instead
  EXPECT_TRUE(f.kv->check_invariants().ok());
  f.kv->release(3);
  f.mem.fail_batches = false;
  EXPECT_EQ(f.run(4, iota(13)), 12);  // what seq 3 computed
  EXPECT_TRUE(f.kv->check_invariants().ok());
}

}  // namespace
}  // namespace agentrt::kv
