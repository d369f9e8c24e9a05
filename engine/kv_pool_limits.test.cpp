// KV pool limits: request sizing capped at the context in 64-bit arithmetic, and pool sizes
// checked against the block cap and a memory limit before anything is allocated.
#include "engine/kv_pool_limits.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>

namespace agentrt {
namespace {

TEST(KvPoolLimits, RequestBlocksAreCappedAtTheContext) {
  EXPECT_EQ(*kv_blocks_for_request(2, 14, 4096, 16), 1);
  EXPECT_EQ(*kv_blocks_for_request(2, 15, 4096, 16), 2);
  // --max-tokens 100000000 and 2147483647: the context bounds the pool, no overflow.
  EXPECT_EQ(*kv_blocks_for_request(2, 100000000, 4096, 16), 256);
  EXPECT_EQ(*kv_blocks_for_request(2, std::numeric_limits<int>::max(), 4096, 16), 256);
  EXPECT_EQ(*kv_blocks_for_request(2, std::numeric_limits<std::int64_t>::max(), 4096, 16), 256);
}

TEST(KvPoolLimits, RequestErrorsNameTheNumbers) {
  auto full = kv_blocks_for_request(700000, 16, 4096, 16);  // a 2 MB prompt, say
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(full.error().message,
            "prompt of 700000 tokens leaves no room in the model's context of 4096 tokens");
  EXPECT_FALSE(kv_blocks_for_request(4096, 1, 4096, 16).ok());
  EXPECT_FALSE(kv_blocks_for_request(0, 1, 4096, 16).ok());
  auto zero = kv_blocks_for_request(3, 0, 4096, 16);
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.error().message, "max_tokens: must be >= 1, got 0");
  EXPECT_FALSE(kv_blocks_for_request(3, 1, 4096, 0).ok());
}

TEST(KvPoolLimits, PoolIsCheckedAgainstBlockCapAndMemoryLimit) {
  EXPECT_TRUE(check_kv_pool("pool", 1024, 65536, 64u << 20, "limit").ok());
  auto many = check_kv_pool("pool", 300000000, 65536, ~0ull, "limit");
  ASSERT_FALSE(many.ok());
  EXPECT_EQ(many.error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(many.error().message, "pool: 300000000 KV blocks is outside [1, 4194304]");
  EXPECT_FALSE(check_kv_pool("pool", 0, 65536, ~0ull, "limit").ok());
  EXPECT_FALSE(check_kv_pool("pool", -5, 65536, ~0ull, "limit").ok());
  auto big = check_kv_pool("pool", 1025, 65536, 64u << 20, "CpuBackendOptions::max_kv_bytes");
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().code, ErrorCode::out_of_memory);
  EXPECT_EQ(big.error().message,
            "pool: 1025 KV blocks of 65536 bytes (67174400 bytes) exceed the KV memory limit of "
            "67108864 bytes (CpuBackendOptions::max_kv_bytes)");
  auto overflow = check_kv_pool("pool", kMaxKvBlocks, 1ull << 60, ~0ull, "limit");
  ASSERT_FALSE(overflow.ok());
  EXPECT_NE(overflow.error().message.find("more than 2^64"), std::string::npos);
}

TEST(KvPoolLimits, DefaultHostLimitIsHalfOfRam) {
  const std::uint64_t ram = physical_memory_bytes();
  ASSERT_GT(ram, 0u);  // Linux always reports it
  EXPECT_EQ(default_host_kv_limit_bytes(), ram / 2);
}

TEST(KvPoolLimits, DefaultHostTierIsAnEighthOfRamCapped) {
  const std::uint64_t ram = physical_memory_bytes();
  EXPECT_EQ(default_host_tier_bytes(), std::min<std::uint64_t>(ram / 8, 16ull << 30));
}

}  // namespace
}  // namespace agentrt
