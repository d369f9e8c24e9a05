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
  return std::ssize(keys);
}

std::int64_t KvManager::prefetch(std::span<const std::int32_t> tokens, std::int32_t steps) {
  const auto bs = static_cast<std::size_t>(opt_.block_size);
  const std::size_t full = tokens.size() / bs;
  // Blocks of the prefix are held (referenced) until the end, so that making room for the
  // next one cannot take them back.
  std::vector<std::int32_t> held;
  TierBatch batch;
  std::int64_t copied = 0;
  BlockKey parent = root_;
  for (std::size_t i = 0; i < full; ++i) {
    auto part = tokens.subspan(i * bs, bs);
    const BlockKey key = chain_key(parent, part, opt_.model_fingerprint);
    std::optional<std::int32_t> id = pool_.find(key, part);
    if (id) {
      pool_.ref(*id, now());
    } else {
      // Room only from the free list or a block needed later than this one; never a pin.
      const bool room = pool_.free_count() > 0 ||
                        (pool_.evictable_count() > 0 && pool_.victim_next_use() > steps);
      if (!room) break;
      auto hit = match_tiers(tokens.first(full * bs), i, key, batch);
      if (!hit) break;
      id = hit->block;
      ++copied;
      ++metrics_.prefetched_blocks;
    }
    held.push_back(*id);
    parent = key;
    if (batch.full() && !flush_tiers(batch, held)) break;
  }
  flush_tiers(batch, held);
  for (std::int32_t id : held)
    pool_.unref(id, now());
  return copied;
}

}  // namespace agentrt::kv
