// KvManager: the workflow's reuse hints (eviction by steps to next use) and the prefetch of
// a coming step's blocks from the lower tiers.
#include "engine/kv/kv_manager.h"

namespace agentrt::kv {

std::int64_t KvManager::hint_reuse(HintOwner owner, std::span<const std::int32_t> tokens,
                                   std::int32_t steps) {
  if (steps < 0) {
    pool_.clear_hint(owner);
    return 0;
  }
  const auto bs = static_cast<std::size_t>(opt_.block_size);
  std::vector<BlockKey> keys;
  BlockKey parent = root_;
  for (std::size_t i = 0; i < tokens.size() / bs; ++i) {
    parent = chain_key(parent, tokens.subspan(i * bs, bs), opt_.model_fingerprint);
    keys.push_back(parent);
  }
  pool_.hint(owner, keys, steps);
  ++metrics_.hints_set;
  return std::ssize(keys);
}

std::int64_t KvManager::prefetch(std::span<const std::int32_t> tokens, std::int32_t steps) {
  const std::int64_t before = metrics_.prefetched_blocks;
  // Room only from the free list or a block needed later than this one; never a pin.
  const auto held = hold_prefix(tokens, [&] {
    return pool_.free_count() > 0 ||
           (pool_.evictable_count() > 0 && pool_.victim_next_use() > steps);
  });
  for (std::int32_t id : held)
    pool_.unref(id, now());
  return metrics_.prefetched_blocks - before;
}

}  // namespace agentrt::kv
