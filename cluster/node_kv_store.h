// NodeKvStore: a worker node's in-memory KV snapshot tier, its engine's persistent tier
// (RuntimeOptions::persistent) in place of the server's RocksDB store. The engine writes a
// paused turn's full blocks behind into it, as into storage::KvStore; a draining node reads
// them from it to ship them (kv_shipping.h), and the node that receives them imports them
// into its own, where the next turn's prefix lookup finds them instead of recomputing.
// Bounded by bytes: the least recently used blocks go first. Thread-safe.
#pragma once

#include <cstddef>
#include <list>
#include <mutex>
#include <unordered_map>

#include "engine/kv/dropped_keys.h"
#include "engine/kv/kv_tier.h"

namespace agentrt::cluster {

class NodeKvStore final : public kv::KvTier {
 public:
  explicit NodeKvStore(std::size_t capacity_bytes) : capacity_(capacity_bytes) {}

  std::string name() const override { return "node_snapshot"; }
  // Stores the block, dropping the least recently used past the capacity. Errors: a block
  // larger than the whole capacity.
  Status put(const kv::BlockKey& key, std::span<const std::byte> bytes) override;
  Result<std::optional<Value>> get(const kv::BlockKey& key) override;
  Status erase(const kv::BlockKey& key) override;
  bool move_on_promote() const override { return false; }
  bool thread_safe() const override { return true; }
  std::int64_t stored_bytes() const override;
  // Most recently used first.
  void list_keys(std::vector<kv::BlockKey>& out, std::size_t max) const override;
  // The least recently used blocks it dropped past its capacity.
  void take_dropped(std::vector<kv::BlockKey>& out) override;
  // The size of the blocks stored so far (they all have the engine's size), 0 when none.
  std::size_t block_bytes() const;

 private:
  struct Entry {
    Value bytes;
    std::list<kv::BlockKey>::iterator at;
  };
  void drop(const kv::BlockKey& key);  // holds mu_

  const std::size_t capacity_;
  mutable std::mutex mu_;
  std::unordered_map<kv::BlockKey, Entry, kv::BlockKeyHash> map_;
  std::list<kv::BlockKey> order_;  // front = most recent
  std::size_t used_ = 0;
  std::size_t block_bytes_ = 0;
  kv::DroppedKeys dropped_;  // guarded by mu_
};

}  // namespace agentrt::cluster
