// HostTier: KV block contents in host RAM, bounded by a byte capacity. Blocks live in one
// slab of equal slots (capacity / block size), allocated up front so that a backend can
// register it for DMA (Backend::register_host_memory). When full it demotes its least
// recently stored or read values to `next` (e.g. the RocksDB store) when one is given, else
// drops them. Engine thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "engine/kv/dropped_keys.h"
#include "engine/kv/kv_tier.h"

namespace agentrt::kv {

class HostTier final : public KvTier {
 public:
  // capacity_bytes 0 stores nothing (every put goes straight to `next`). block_bytes 0: the
  // slab is allocated at the first put, sized by it; every value must then have that size
  // (others go to `next`, or are refused).
  explicit HostTier(std::size_t capacity_bytes, KvTier* next = nullptr,
                    std::size_t block_bytes = 0);

  std::string name() const override { return "host"; }
  Status put(const BlockKey& key, std::span<const std::byte> bytes) override;
  Result<std::optional<std::vector<std::byte>>> get(const BlockKey& key) override;
  Status erase(const BlockKey& key) override;
  bool move_on_promote() const override { return true; }
  std::int64_t stored_bytes() const override { return static_cast<std::int64_t>(used_bytes()); }
  // Published values only (not those taken or reserved), most recently used first.
  void list_keys(std::vector<BlockKey>& out, std::size_t max) const override;
  // The least recently used values it dropped (or demoted to `next`) to make room.
  void take_dropped(std::vector<BlockKey>& out) override { dropped_.take(out); }

  bool zero_copy() const override { return true; }
  std::optional<std::span<const std::byte>> peek(const BlockKey& key) override;
  std::optional<std::span<const std::byte>> take(const BlockKey& key) override;
  void release_taken() override;
  std::optional<std::span<std::byte>> reserve(const BlockKey& key, std::size_t bytes) override;
  void commit(const BlockKey& key) override;
  void cancel(const BlockKey& key) override;

  // The slab (empty until allocated, or with capacity below one block).
  std::span<std::byte> slab() { return {slab_.get(), slots_ * slot_bytes_}; }
  std::size_t slot_bytes() const { return slot_bytes_; }
  std::size_t slots() const { return slots_; }
  // Bytes of the values stored (not those taken or reserved).
  std::size_t used_bytes() const { return index_.size() * slot_bytes_; }
  std::size_t size() const { return index_.size(); }
  std::int64_t demoted() const { return demoted_; }

 private:
  static constexpr std::int32_t kNone = -1;
  std::span<std::byte> slot_span(std::int32_t s) {
    return {slab_.get() + static_cast<std::size_t>(s) * slot_bytes_, slot_bytes_};
  }
  void allocate_slab(std::size_t block_bytes);
  // A free slot, demoting the least recently used value when none is; kNone when every
  // slot is taken or reserved.
  std::int32_t acquire_slot();
  void link_front(std::int32_t s);
  void unlink(std::int32_t s);

  std::size_t capacity_;
  KvTier* next_;
  std::size_t slot_bytes_ = 0;
  std::size_t slots_ = 0;
  std::unique_ptr<std::byte[]> slab_;
  std::vector<BlockKey> keys_;  // per slot used so far: the key stored there
  // Per slot: LRU neighbours (prev = more recent), kNone at the ends.
  std::vector<std::int32_t> prev_, next_slot_;
  std::int32_t head_ = kNone, tail_ = kNone;  // most, least recently used
  std::vector<std::int32_t> free_;
  std::vector<std::int32_t> taken_;
  std::unordered_map<BlockKey, std::int32_t, BlockKeyHash> index_, reserved_;
  std::int64_t demoted_ = 0;
  DroppedKeys dropped_;
};

}  // namespace agentrt::kv
