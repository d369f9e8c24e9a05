// BlockPool: metadata of the device's KV blocks (the backend owns the memory): reference
// counts from sequences, pin counts, content keys of full blocks, the prefix index, the free
// list, the evictable set and the workflow's reuse hints (which order eviction). A block is
// evictable when it is cached (indexed), has no references and no pins; an unindexed block
// with neither goes straight to the free list. Engine thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "engine/kv/block_key.h"
#include "engine/kv/clock.h"
#include "engine/kv/eviction_policy.h"
#include "engine/kv/prefix_index.h"
#include "engine/kv/reuse_hints.h"

namespace agentrt::kv {

struct Block {
  std::int32_t id = 0;
  std::int32_t refs = 0;             // sequence block tables holding it
  std::int32_t pins = 0;             // pins holding it
  std::optional<BlockKey> key;       // set when full
  bool indexed = false;              // key maps to this block in the prefix index
  std::vector<std::int32_t> tokens;  // of a full block (guards lookups against collisions)
  TimePoint last_use{};
  bool in_use() const { return refs > 0 || pins > 0; }
};

class BlockPool {
 public:
  BlockPool(int num_blocks, std::unique_ptr<EvictionPolicy> policy);

  int num_blocks() const { return static_cast<int>(blocks_.size()); }
  const Block& block(std::int32_t id) const { return blocks_[static_cast<std::size_t>(id)]; }
  int free_count() const { return static_cast<int>(free_.size()); }
  int evictable_count() const { return static_cast<int>(policy_->size()); }
  std::span<const std::int32_t> free_list() const { return free_; }

  // A block from the free list, now referenced once; nullopt when the list is empty.
  std::optional<std::int32_t> take_free(TimePoint now);
  // The next cached block to evict (unreferenced, unpinned); nullopt when none.
  std::optional<std::int32_t> victim() const { return policy_->victim(); }
  // Drops an evictable block's key and index entry and puts it on the free list.
  void reclaim(std::int32_t id);

  void ref(std::int32_t id, TimePoint now);
  void unref(std::int32_t id, TimePoint now);
  void pin(std::int32_t id);
  void unpin(std::int32_t id, TimePoint now);

  // The indexed block with `key` whose tokens equal `tokens`, if any.
  std::optional<std::int32_t> find(const BlockKey& key, std::span<const std::int32_t> tokens) const;
  // Records the content of a now-full block and indexes it when its key is new.
  void seal(std::int32_t id, const BlockKey& key, std::span<const std::int32_t> tokens);

  // Reuse hints: the blocks with `keys` are next used in `steps` (>= 0) steps, replacing
  // the owner's earlier hint. Cached blocks holding those keys, now or once sealed, are
  // evicted after blocks needed later or not at all.
  void hint(HintOwner owner, std::span<const BlockKey> keys, std::int32_t steps);
  // Drops the owner's hint. No-op for an unknown owner.
  void clear_hint(HintOwner owner);
  // The hint of the content a key names, held on the device or not (kFarNextUse: none).
  std::int32_t next_use(const BlockKey& key) const { return hints_.next_use(key); }
  // The hint of the block victim() returns now; kFarNextUse when none is evictable.
  std::int32_t victim_next_use() const;
  const ReuseHints& hints() const { return hints_; }

 private:
  Block& at(std::int32_t id) { return blocks_[static_cast<std::size_t>(id)]; }
  void release_if_idle(Block& b, TimePoint now);
  void apply(const ReuseHints::Changes& changes);

  std::vector<Block> blocks_;
  std::vector<std::int32_t> free_;
  std::unique_ptr<EvictionPolicy> policy_;
  PrefixIndex index_;
  ReuseHints hints_;
};

}  // namespace agentrt::kv
