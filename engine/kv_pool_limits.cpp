#include "engine/kv_pool_limits.h"

#include <unistd.h>

#include <algorithm>
#include <limits>

namespace agentrt {

std::uint64_t physical_memory_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page_size = ::sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page_size <= 0) return 0;
  return static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page_size);
}

std::uint64_t default_host_kv_limit_bytes() {
  const std::uint64_t ram = physical_memory_bytes();
  return ram == 0 ? std::numeric_limits<std::uint64_t>::max() : ram / kDefaultKvMemoryDivisor;
}

std::uint64_t default_host_tier_bytes() {
  return std::min(physical_memory_bytes() / kDefaultHostTierDivisor, kMaxDefaultHostTierBytes);
}

Status check_kv_block_count(const std::string& who, std::int64_t num_blocks) {
  if (num_blocks >= 1 && num_blocks <= kMaxKvBlocks) return ok_status();
  return make_error(ErrorCode::invalid_argument, who + ": " + std::to_string(num_blocks) +
                                                     " KV blocks is outside [1, " +
                                                     std::to_string(kMaxKvBlocks) + "]");
}

Status check_kv_pool(const std::string& who, std::int64_t num_blocks, std::uint64_t block_bytes,
                     std::uint64_t limit_bytes, const std::string& limit_name) {
  AGENTRT_TRY(check_kv_block_count(who, num_blocks));
  const auto blocks = static_cast<std::uint64_t>(num_blocks);
  // blocks <= 2^22, so blocks * block_bytes overflows only when block_bytes > 2^42.
  const bool overflow =
      block_bytes != 0 && blocks > std::numeric_limits<std::uint64_t>::max() / block_bytes;
  if (overflow || blocks * block_bytes > limit_bytes) {
    const std::string total = overflow ? "more than 2^64" : std::to_string(blocks * block_bytes);
    return make_error(ErrorCode::out_of_memory,
                      who + ": " + std::to_string(num_blocks) + " KV blocks of " +
                          std::to_string(block_bytes) + " bytes (" + total +
                          " bytes) exceed the KV memory limit of " + std::to_string(limit_bytes) +
                          " bytes (" + limit_name + ")");
  }
  return ok_status();
}

Result<int> kv_blocks_for_request(std::int64_t prompt_tokens, std::int64_t max_tokens,
                                  int max_context, int block_size) {
  if (block_size < 1) {
    return make_error(ErrorCode::invalid_argument,
                      "KV block size must be >= 1, got " + std::to_string(block_size));
  }
  if (prompt_tokens < 1) return make_error(ErrorCode::invalid_argument, "empty prompt");
  if (prompt_tokens >= max_context) {
    return make_error(ErrorCode::invalid_argument,
                      "prompt of " + std::to_string(prompt_tokens) +
                          " tokens leaves no room in the model's context of " +
                          std::to_string(max_context) + " tokens");
  }
  if (max_tokens < 1) {
    return make_error(ErrorCode::invalid_argument,
                      "max_tokens: must be >= 1, got " + std::to_string(max_tokens));
  }
  // The prompt is below max_context and max_tokens is capped at it: no overflow.
  const std::int64_t total = std::min<std::int64_t>(
      prompt_tokens + std::min<std::int64_t>(max_tokens, max_context), max_context);
  return static_cast<int>((total + block_size - 1) / block_size);
}

}  // namespace agentrt
