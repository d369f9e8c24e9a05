// KvMetrics: counters of the KV manager, read by the engine's metrics endpoint and benches.
#pragma once

#include <array>
#include <cstdint>

namespace agentrt::kv {

// Where a prefix hit was found: 0 device, 1.. the lower tiers in their order (host, store).
inline constexpr int kMaxTiers = 4;

struct KvMetrics {
  std::int64_t lookup_tokens = 0;                    // prompt tokens offered to prefix matching
  std::array<std::int64_t, kMaxTiers> hit_tokens{};  // [0] device, [1] host, [2] store...
  std::int64_t evictions = 0;                        // device blocks reclaimed from the cache
  std::int64_t offloaded_blocks = 0;     // evicted blocks written to the first lower tier
  std::int64_t tier_dropped_blocks = 0;  // lower-tier values of the wrong size, erased unused
  std::int64_t cow_copies = 0;
  std::int64_t swapped_out_blocks = 0;
  std::int64_t swapped_in_blocks = 0;
  std::int64_t pins_created = 0;
  std::int64_t pins_expired = 0;
  std::int64_t pins_revoked = 0;  // taken back under memory pressure
  std::int64_t prefetched_blocks =
      0;  // copied back from a lower tier by a re-pin or a workflow prefetch
  std::int64_t pinned_blocks = 0;  // now: blocks held by at least one pin
  std::int64_t pinned_bytes = 0;   // now
  std::int64_t active_pins = 0;    // now: owners holding a pin
  std::int64_t hints_set = 0;      // reuse hints received (hint_reuse with steps >= 0)
  std::int64_t hint_owners = 0;    // now: owners (workflow steps) holding a reuse hint
  // Now, the device pool by state; with pinned_blocks they sum to the pool's size.
  std::int64_t free_blocks = 0;    // on the free list (no content)
  std::int64_t cached_blocks = 0;  // cached content, unreferenced and unpinned (evictable)
  std::int64_t used_blocks = 0;    // referenced by a sequence and not pinned
  std::int64_t block_bytes = 0;    // one device block (every layer's K and V)
  // Now: bytes each lower tier holds, indexed as hit_tokens ([1] host, [2] store); -1 when
  // the tier does not say or is absent.
  std::array<std::int64_t, kMaxTiers> tier_bytes{-1, -1, -1, -1};
  // Write-behind to the persistent tier (KvPersister).
  std::int64_t persisted_blocks = 0;        // full blocks written
  std::int64_t persist_errors = 0;          // blocks whose read or write failed (not retried)
  std::int64_t persist_dropped_blocks = 0;  // offers refused while the write queue was full
};

}  // namespace agentrt::kv
