// Limits on the KV pool a backend allocates and on what one request may ask of it. Each is
// checked, in 64-bit arithmetic, before anything is allocated (docs/limits.md lists them).
#pragma once

#include <cstdint>
#include <string>

#include "engine/common/result.h"

namespace agentrt {

// Most KV blocks in one pool (EngineOptions, --kv-blocks): block ids are int32 and the KV
// manager keeps about 100 bytes of metadata per block. 4M blocks of 16 tokens = 64M tokens.
inline constexpr std::int64_t kMaxKvBlocks = std::int64_t{1} << 22;

// The default KV memory limit of a host-memory backend: physical RAM / this divisor.
inline constexpr std::uint64_t kDefaultKvMemoryDivisor = 2;

// The default host KV tier (evicted blocks kept in RAM; actors::RuntimeOptions::
// host_tier_bytes): physical RAM / this divisor, at most kMaxDefaultHostTierBytes. It fills
// only as blocks are evicted.
inline constexpr std::uint64_t kDefaultHostTierDivisor = 8;
inline constexpr std::uint64_t kMaxDefaultHostTierBytes = std::uint64_t{16} << 30;

// Physical RAM in bytes; 0 when the OS does not say.
std::uint64_t physical_memory_bytes();

// The default limit on a host-memory KV pool: half of physical RAM (all of 2^64 - 1 when
// RAM is unknown).
std::uint64_t default_host_kv_limit_bytes();

// The default host tier: physical RAM / kDefaultHostTierDivisor, capped at
// kMaxDefaultHostTierBytes; 0 (no host tier) when RAM is unknown.
std::uint64_t default_host_tier_bytes();

// Errors (invalid_argument, starting with `who`) for a block count outside [1, kMaxKvBlocks].
[[nodiscard]] Status check_kv_block_count(const std::string& who, std::int64_t num_blocks);

// Checks a pool of `num_blocks` blocks of `block_bytes` bytes before it is allocated.
// Errors (messages start with `who`): invalid_argument for a count outside [1, kMaxKvBlocks];
// out_of_memory when num_blocks x block_bytes exceeds `limit_bytes`, naming both and
// `limit_name` (the option that sets the limit).
[[nodiscard]] Status check_kv_pool(const std::string& who, std::int64_t num_blocks,
                                   std::uint64_t block_bytes, std::uint64_t limit_bytes,
                                   const std::string& limit_name);

// KV blocks of `block_size` tokens that one request of `prompt_tokens` + `max_tokens`
// needs, its total capped at the model's context (a longer request ends context_full).
// Errors (invalid_argument, naming the numbers): an empty prompt, a prompt of max_context
// tokens or more, max_tokens < 1, block_size < 1.
[[nodiscard]] Result<int> kv_blocks_for_request(std::int64_t prompt_tokens, std::int64_t max_tokens,
                                                int max_context, int block_size);

}  // namespace agentrt
