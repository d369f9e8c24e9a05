// SegmentCache: the KV of prompt segments (a tool result, an agent's output, a document, a
// map item) as first computed, kept on the host for KvReuse::blend (issue 21). Content
// addressed by the segment's tokens and the fingerprint of the model and KV layout (keys
// of their own, never equal to a block's); each entry holds the position its KV was
// computed at, so a placement elsewhere can re-rotate its keys. Capped in bytes, evicted
// least recently used first. Segments do not start on block boundaries, so the cache holds
// copies (in the backend's token layout, Backend::read_token_kv), not pinned blocks.
//
// Tiers: with a persistent tier (the block cache's, e.g. storage::KvStore) every entry
// inserted is also written behind to it (segment_value.h's form, through a KvPersister),
// and a lookup that misses in RAM reads it there, so segments survive a restart and are
// shared by engines over the same store; the store's own byte bound applies to them. A
// stored value that fails a check (corrupt, another layout) is refused, erased from the
// tier and counted with its reason (SegmentCacheStats): the segment is then recomputed.
//
// Pins: find() hands out shared ownership. An entry in use by a request (the engine keeps
// its shared_ptr for the request's life) stays valid and unchanged when it is evicted or
// replaced; its bytes then no longer count against the cap and are freed by the last user.
// Engine thread only (the write-behind runs on the persister's own thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/common/result.h"
#include "engine/kv/block_key.h"
#include "engine/kv/kv_persister.h"
#include "engine/kv/kv_tier.h"

namespace agentrt::kv {

struct SegmentEntry {
  std::vector<std::int32_t> tokens;
  std::int32_t position = 0;  // of tokens[0] when its KV was computed
  std::vector<std::byte> kv;  // tokens.size() * Backend::token_kv_bytes()
  // Unique for the process's life (next_segment_id()), 0 for none: a backend may keep a copy
  // of `kv` under it (Backend::place_segment_kv).
  std::uint64_t id = 0;
  std::size_t bytes() const { return kv.size() + tokens.size() * sizeof(std::int32_t); }
};

struct SegmentCacheStats {
  std::int64_t entries = 0;
  std::int64_t bytes = 0;
  std::int64_t lookups = 0;
  std::int64_t hits = 0;  // store_hits included
  std::int64_t inserts = 0;
  std::int64_t evictions = 0;
  std::int64_t tokens_reused = 0;      // placed from the cache, not computed
  std::int64_t tokens_recomputed = 0;  // of hit segments, recomputed in the new context
  // The persistent tier (zeros without one).
  std::int64_t store_hits = 0;      // RAM misses read from the tier
  std::int64_t store_written = 0;   // entries the write-behind stored
  std::int64_t store_rejected = 0;  // stored values refused (a failed check): recomputed
  std::int64_t store_errors = 0;    // tier reads or writes that failed
  std::string last_store_error;     // the latest refusal or failure, naming the key
};

struct SegmentStoreOptions {
  KvTier* tier = nullptr;          // e.g. storage::KvStore, outlives the cache; null: RAM only
  std::size_t token_kv_bytes = 0;  // Backend::token_kv_bytes(): stored values must match it
  KvPersisterOptions persist;      // the write-behind queue
};

// A new SegmentEntry::id (thread-safe, never 0, never repeated).
std::uint64_t next_segment_id();

class SegmentCache {
 public:
  // `fingerprint`: model and KV layout (kv::layout_fingerprint); enters every key.
  SegmentCache(std::size_t capacity_bytes, std::string fingerprint,
               const SegmentStoreOptions& store = {});
  // Writes what is queued for the tier.
  ~SegmentCache();
  SegmentCache(const SegmentCache&) = delete;
  SegmentCache& operator=(const SegmentCache&) = delete;

  // The entry for exactly these tokens, from RAM or else the persistent tier, or null; a hit
  // becomes the most recently used. The entry stays valid while the caller holds it, even
  // if evicted meanwhile.
  std::shared_ptr<const SegmentEntry> find(std::span<const std::int32_t> tokens);
  // Stores (or replaces) the entry for its tokens, evicting least recently used entries
  // until it fits, and queues it for the persistent tier. Returns false, storing nothing,
  // for an empty entry or one larger than the capacity.
  bool insert(SegmentEntry entry);
  // Counts a placement of a hit: tokens taken from the cache and tokens recomputed.
  void count_use(std::int64_t reused, std::int64_t recomputed);
  // Waits until every entry queued for the persistent tier is written or has failed.
  // Errors: io when writes failed since the last flush. No-op without a tier.
  Status flush();
  SegmentCacheStats stats() const;
  std::size_t capacity_bytes() const { return capacity_; }
  // The key of a segment of `tokens` (the persistent tier's row for it).
  BlockKey key(std::span<const std::int32_t> tokens) const;

 private:
  using Lru = std::list<BlockKey>;
  struct Slot {
    std::shared_ptr<const SegmentEntry> entry;
    Lru::iterator lru;
  };
  void erase(const BlockKey& key);
  // Puts `entry` in RAM under `k`, most recently used; null when it cannot fit.
  std::shared_ptr<const SegmentEntry> keep(const BlockKey& k, SegmentEntry entry);
  std::shared_ptr<const SegmentEntry> load(const BlockKey& k, std::span<const std::int32_t> tokens);

  std::size_t capacity_;
  std::string fingerprint_;
  BlockKey root_;
  SegmentStoreOptions store_;
  std::unique_ptr<KvPersister> persister_;  // with a tier
  std::unordered_map<BlockKey, Slot, BlockKeyHash> slots_;
  Lru lru_;  // front: most recently used
  std::size_t bytes_ = 0;
  std::int64_t flushed_errors_ = 0;  // persister errors already reported by flush()
  SegmentCacheStats stats_;
};

}  // namespace agentrt::kv
