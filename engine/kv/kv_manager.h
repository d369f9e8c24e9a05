// KvManager: the paged KV cache of one engine. It maps sequences to block tables over a
// BlockPool, reuses full blocks by content (prefix matching across sequences, the host tier
// and a persistent tier), forks sequences copy-on-write, pins blocks with a TTL, swaps
// preempted sequences to host memory, offers full blocks to the persistent tier's
// write-behind (KvPersister), counts what it did (KvMetrics) and, when a listener is set,
// reports blocks stored, evicted, pinned and unpinned per tier (kv_events.h), in batches.
// Every method runs on the engine thread; none blocks on anything but the lower tiers.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/common/result.h"
#include "engine/kv/block_memory.h"
#include "engine/kv/block_pool.h"
#include "engine/kv/clock.h"
#include "engine/kv/kv_events.h"
#include "engine/kv/kv_metrics.h"
#include "engine/kv/kv_persister.h"
#include "engine/kv/kv_tier.h"

namespace agentrt::kv {

using SeqId = std::int64_t;
using PinOwner = std::int64_t;

// One block a KvManager holds (held_blocks): its chained key, the tier holding it as events
// name tiers (0 the device, 1.. the lower tiers), and on the device the pins holding it.
struct KvHeldBlock {
  std::uint8_t tier = 0;
  BlockKey key;
  std::int32_t pins = 0;  // device only: summed over the blocks with this key
};

struct KvManagerOptions {
  int num_blocks = 0;
  int block_size = 16;
  std::string model_fingerprint;  // enters every block key
  bool prefix_reuse = true;       // false: never match cached blocks (baseline runs)
  std::size_t swap_bytes = 0;     // host memory for swapped-out sequences
};

struct KvManagerDeps {
  BlockMemory* memory = nullptr;  // required; outlives the manager
  const Clock* clock = nullptr;   // required; outlives the manager
  std::vector<KvTier*> tiers;     // lower tiers, fastest first (host, then store); may be empty
  std::unique_ptr<EvictionPolicy> policy;  // null: LRU
  // Write-behind to the persistent tier (one of `tiers`); null: none. Outlives the manager.
  KvPersister* persister = nullptr;
};

class KvManager {
 public:
  // Errors: invalid options or a missing memory or clock.
  static Result<std::unique_ptr<KvManager>> create(const KvManagerOptions& options,
                                                   KvManagerDeps deps);

  int block_size() const { return opt_.block_size; }
  int num_blocks() const { return pool_.num_blocks(); }
  // Blocks an allocation can take without revoking pins: free plus evictable.
  int available_blocks() const { return pool_.free_count() + pool_.evictable_count(); }
  // The counters, with the persister's (persisted_blocks, persist_errors) as of now.
  KvMetrics metrics() const;
  const BlockPool& pool() const { return pool_; }

  // --- sequences (kv_manager.cpp) ---
  // Starts `seq` with the longest cached full-block prefix of `tokens` (device, then each
  // lower tier, which promotes the hit), leaving at least the last token to compute.
  // Returns the number of cached tokens. Errors: seq exists.
  Result<std::int64_t> open(SeqId seq, std::span<const std::int32_t> tokens);
  // Makes the block table cover positions [0, total_tokens), copying a shared partial block
  // before it is written. Errors: unknown seq, out_of_memory (blocks allocated so far stay).
  Status reserve(SeqId seq, std::int64_t total_tokens);
  // Records that KV for `tokens` (the next positions) was written; seals blocks that fill.
  // Errors: unknown seq, tokens beyond the reserved table.
  Status commit(SeqId seq, std::span<const std::int32_t> tokens);
  // `child` gets a copy of `parent`'s table; every block is shared. Errors: unknown parent,
  // child exists, parent swapped out.
  Status fork(SeqId parent, SeqId child);
  // Drops the sequence and its references (swap space too); no-op for an unknown seq.
  void release(SeqId seq);
  bool contains(SeqId seq) const { return seqs_.count(seq) != 0; }
  std::int64_t computed(SeqId seq) const;  // tokens whose KV is cached; 0 if unknown
  std::span<const std::int32_t> block_table(SeqId seq) const;
  // Blocks needed to grow `seq` to total_tokens (new blocks plus a copy-on-write one).
  int blocks_to_grow(SeqId seq, std::int64_t total_tokens) const;
  // The KV of `seq` from token `from` on is not what a full recompute gives (KvReuse::blend
  // placed it): its blocks from the one holding `from` are never sealed, so no prefix match,
  // pin or persistent write serves them. No-op for an unknown seq.
  void stop_sealing(SeqId seq, std::int64_t from);

  // --- swap (kv_manager_tiers.cpp) ---
  // Copies the sequence's KV to host swap space and frees its device blocks. Errors:
  // out_of_memory when swap space is short (nothing changed), a memory error.
  Status swap_out(SeqId seq);
  // Brings a swapped-out sequence back into fresh blocks. Errors: out_of_memory (still
  // swapped out), not swapped out.
  Status swap_in(SeqId seq);
  bool swapped_out(SeqId seq) const;
  std::size_t swap_used_bytes() const { return swap_used_; }

  // --- pins (kv_manager_pins.cpp) ---
  // Pins the sequence's full blocks for `owner` until unpin() or now + ttl, replacing any
  // earlier pin of that owner. Pinned blocks are never evicted; under memory pressure pins
  // are revoked (see allocate()). Errors: unknown seq.
  Status pin(PinOwner owner, SeqId seq, Duration ttl);
  // Pins explicit block ids (each must be in use). Errors: a bad or idle id.
  Status pin_blocks(PinOwner owner, std::span<const std::int32_t> blocks, Duration ttl);
  // Releases the owner's pin (its blocks stay cached, evictable). No-op if none.
  void unpin(PinOwner owner);
  bool pinned(PinOwner owner) const { return pins_.count(owner) != 0; }
  // Drops pins whose TTL passed. Called by allocate() and by the engine each step.
  void expire_pins();
  // Blocks that revoking every pin would make available.
  int revocable_blocks() const;
  // Pins for `owner` until now + ttl the longest cached full-block prefix of `tokens`,
  // replacing its earlier pin: blocks on the device are pinned where they are, blocks in a
  // lower tier are copied back into device blocks first (a prefetch: prefetched_blocks).
  // ttl <= 0 only unpins. Returns the tokens pinned (0 when nothing is cached). Errors: none
  // yet (a tier read that fails ends the prefix there, as in open()).
  Result<std::int64_t> pin_prefix(PinOwner owner, std::span<const std::int32_t> tokens,
                                  Duration ttl);

  // --- write-behind (kv_manager_persist.cpp) ---
  // Offers the sequence's full blocks that the persistent tier lacks to the persister,
  // copying them out of block memory now. No-op without a persister, or for an unknown or
  // swapped-out seq.
  void persist(SeqId seq);
  // Offers every cached full block the tier lacks, waiting for room in the persister's
  // queue rather than dropping any (flush). No-op without a persister.
  void persist_cached();

  // --- reuse hints and prefetch (kv_manager_hints.cpp) ---
  // The full blocks of `tokens` are next used in `steps` steps (a workflow planner's hint,
  // KVFlow), replacing `owner`'s earlier hint: cached blocks are evicted farthest next use
  // first (unhinted ones before any hinted), LRU among equals. steps < 0 drops the owner's
  // hint. Returns the blocks hinted.
  std::int64_t hint_reuse(HintOwner owner, std::span<const std::int32_t> tokens,
                          std::int32_t steps);
  // Copies the full blocks of `tokens` that only a lower tier holds back into device blocks,
  // left cached (evictable), up to the first block cached nowhere, or the first that needs
  // room taken from a block hinted no later than `steps` or from a pin. Returns the blocks
  // copied (counted in prefetched_blocks too).
  std::int64_t prefetch(std::span<const std::int32_t> tokens, std::int32_t steps);

  // --- events (kv_manager_events.cpp) ---
  // Sets (or with an empty one clears) the listener of KV events. Without one no event is
  // recorded. Events wait in a buffer until flush_events(), or until kMaxBufferedEvents are
  // waiting, when they are handed over at once (still on this thread, inside the call that
  // made them: the listener must not call the manager).
  void set_event_listener(KvEventListener listener);
  // Hands the buffered events to the listener (the engine: once per step). No-op when none.
  void flush_events();
  static constexpr std::size_t kMaxBufferedEvents = 1024;

  // --- snapshot (kv_manager_snapshot.cpp) ---
  // What it holds: each key in the device prefix index with its pins (the device as its
  // events so far describe it), then each lower tier's keys as the tier lists them
  // (KvTier::list_keys; one that cannot list them gives none), at most `max` in all, the
  // device's first. Buffered events are not flushed: a caller that needs the snapshot in
  // order with them calls flush_events() first. O(device blocks + keys listed).
  std::vector<KvHeldBlock> held_blocks(std::size_t max) const;

  // Checks refcounts, pin counts, the free list and the evictable set against the
  // sequences and pins (tests). Errors: internal, naming the broken invariant.
  Status check_invariants() const;

 private:
  struct SeqState {
    std::vector<std::int32_t> table;
    std::vector<std::int32_t> tokens;          // whose KV is in the table's blocks
    std::vector<std::vector<std::byte>> swap;  // while swapped out: one buffer per block
    bool swapped = false;
    std::size_t seal_limit = SIZE_MAX;  // blocks from this index on stay unsealed (blend)
  };
  struct Pin {
    std::vector<std::int32_t> blocks;
    TimePoint expiry{};
  };

  KvManager(const KvManagerOptions& options, KvManagerDeps deps);

  Result<std::int32_t> allocate();
  bool revoke_one_pin();
  void drop_pin(std::map<PinOwner, Pin>::iterator it);
  void evict(std::int32_t id);
  void persist_blocks(std::span<const std::int32_t> ids, bool wait);
  std::optional<std::int32_t> match_device(const BlockKey& key, std::span<const std::int32_t> t);
  // One open()'s reads from tiers that keep what they return (the store): get_many over a
  // window of the blocks still to match, instead of one get per block.
  struct ReadAhead {
    std::size_t tier = 0;
    std::size_t first = 0;  // block index of values[0]
    std::vector<std::optional<KvTier::Value>> values;
  };
  // Block `index` of `tokens` (key `key`) from the lower tiers, promoted into a device block
  // (referenced once): its id and the index of the tier it came from.
  struct TierHit {
    std::int32_t block = 0;
    std::size_t tier = 0;
  };
  // One open(), pin_prefix() or prefetch()'s block copies, run together by flush_tiers():
  // blocks evicted meanwhile are read into host tier slots and the promoted blocks written
  // from the tiers' memory, in one BlockMemory::swap_many (one wait).
  struct TierBatch {
    struct Evicted {
      std::int32_t block = 0;
      BlockKey key;
      std::span<std::byte> slot;  // reserved in tiers_.front()
    };
    struct Promoted {
      std::int32_t block = 0;  // allocated, sealed only once written
      BlockKey key;
      std::span<const std::int32_t> tokens;
      std::size_t tier = 0;
      std::span<const std::byte> src;  // taken from the tier, or into `owned`
      KvTier::Value owned;
    };
    std::vector<ReadAhead> ahead;
    std::vector<Evicted> evicted;
    std::vector<Promoted> promoted;
    std::size_t owned = 0;  // promoted values held in `owned`
    // Whether to flush now, bounding the bytes read from a store and held.
    bool full() const { return owned >= 16; }
  };
  // Finds block `index` in the lower tiers and queues its promotion in `batch` into a newly
  // allocated block (referenced once, not yet written): its id and the tier it came from.
  std::optional<TierHit> match_tiers(std::span<const std::int32_t> tokens, std::size_t index,
                                     const BlockKey& key, TierBatch& batch);
  // Runs the batch's copies (one BlockMemory::swap_many) and empties it. On an error, `ids`
  // (the blocks matched so far, in prefix order) is cut before the first block the batch
  // promoted, the cut ones unreferenced. Returns whether every promotion was written.
  bool flush_tiers(TierBatch& batch, std::vector<std::int32_t>& ids);
  // The longest cached full-block prefix of `tokens`, each block referenced (the caller
  // unrefs them): device blocks as they are, lower-tier hits copied back in batches while
  // `may_promote()` allows (prefetched_blocks counts them). pin_prefix and prefetch share it.
  std::vector<std::int32_t> hold_prefix(std::span<const std::int32_t> tokens,
                                        const std::function<bool()>& may_promote);
  Result<std::optional<KvTier::Value>> tier_get(std::size_t tier,
                                                std::span<const std::int32_t> tokens,
                                                std::size_t index, const BlockKey& key,
                                                std::vector<ReadAhead>& ahead);
  Status copy_on_write(SeqState& s);
  void seal_full_blocks(SeqState& s, std::size_t from_block);
  SeqState* find_seq(SeqId seq);
  TimePoint now() const { return clock_->now(); }
  // Records one event when a listener is set (a branch otherwise).
  void emit(KvEventType type, std::size_t tier, const BlockKey& key) {
    if (listener_) record(type, tier, key);
  }
  void record(KvEventType type, std::size_t tier, const BlockKey& key);

  KvManagerOptions opt_;
  BlockMemory* memory_;
  const Clock* clock_;
  std::vector<KvTier*> tiers_;
  KvPersister* persister_;
  BlockPool pool_;
  BlockKey root_;
  std::unordered_map<SeqId, SeqState> seqs_;
  std::map<PinOwner, Pin> pins_;
  std::size_t swap_used_ = 0;
  KvMetrics metrics_;
  TierBatch* batch_ = nullptr;  // while one is open, evict() queues its reads there
  KvEventListener listener_;
  std::vector<KvBlockEvent> events_;  // recorded, not yet flushed
  std::vector<BlockKey> dropped_;     // flush_events' scratch: a tier's take_dropped
};

}  // namespace agentrt::kv
