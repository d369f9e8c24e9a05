// SegmentCache: the KV of prompt segments (a tool result, an agent's output, a document, a
// map item) as first computed, kept on the host for KvReuse::blend (issue 21). Content
// addressed by the segment's tokens and the fingerprint of the model and KV layout (as
// block keys are); each entry holds the position its KV was computed at, so a placement
// elsewhere can re-rotate its keys. Capped in bytes, evicted least recently used first.
// Segments do not start on block boundaries, so the cache holds copies (in the backend's
// token layout, Backend::read_token_kv), not pinned blocks. Engine thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/kv/block_key.h"

namespace agentrt::kv {

struct SegmentEntry {
  std::vector<std::int32_t> tokens;
  std::int32_t position = 0;  // of tokens[0] when its KV was computed
  std::vector<std::byte> kv;  // tokens.size() * Backend::token_kv_bytes()
  std::size_t bytes() const { return kv.size() + tokens.size() * sizeof(std::int32_t); }
};

struct SegmentCacheStats {
  std::int64_t entries = 0;
  std::int64_t bytes = 0;
  std::int64_t lookups = 0;
  std::int64_t hits = 0;
  std::int64_t inserts = 0;
  std::int64_t evictions = 0;
  std::int64_t tokens_reused = 0;      // placed from the cache, not computed
  std::int64_t tokens_recomputed = 0;  // of hit segments, recomputed in the new context
};

class SegmentCache {
 public:
  // `fingerprint`: model and KV layout (kv::layout_fingerprint); enters every key.
  SegmentCache(std::size_t capacity_bytes, std::string fingerprint);

  // The entry for exactly these tokens, or null; a hit becomes the most recently used. The
  // entry stays valid while the caller holds it, even if evicted meanwhile.
  std::shared_ptr<const SegmentEntry> find(std::span<const std::int32_t> tokens);
  // Stores (or replaces) the entry for its tokens, evicting least recently used entries
  // until it fits. Returns false, storing nothing, for an entry larger than the capacity.
  bool insert(SegmentEntry entry);
  // Counts a placement of a hit: tokens taken from the cache and tokens recomputed.
  void count_use(std::int64_t reused, std::int64_t recomputed);
  SegmentCacheStats stats() const;
  std::size_t capacity_bytes() const { return capacity_; }

 private:
  using Lru = std::list<BlockKey>;
  struct Slot {
    std::shared_ptr<const SegmentEntry> entry;
    Lru::iterator lru;
  };
  BlockKey key(std::span<const std::int32_t> tokens) const;
  void erase(const BlockKey& key);

  std::size_t capacity_;
  std::string fingerprint_;
  BlockKey root_;
  std::unordered_map<BlockKey, Slot, BlockKeyHash> slots_;
  Lru lru_;  // front: most recently used
  std::size_t bytes_ = 0;
  SegmentCacheStats stats_;
};

}  // namespace agentrt::kv
