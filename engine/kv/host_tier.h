// HostTier: KV block contents in host RAM (plain memory for the CPU backend), bounded by a
// byte capacity. When full it demotes its least recently stored or read values to `next`
// (e.g. the RocksDB store) when one is given, else drops them. Engine thread only.
#pragma once

#include <cstddef>
#include <list>
#include <unordered_map>

#include "engine/kv/kv_tier.h"

namespace agentrt::kv {

class HostTier final : public KvTier {
 public:
  // capacity_bytes 0 stores nothing (every put goes straight to `next`).
  explicit HostTier(std::size_t capacity_bytes, KvTier* next = nullptr);

  std::string name() const override { return "host"; }
  Status put(const BlockKey& key, std::span<const std::byte> bytes) override;
  Result<std::optional<std::vector<std::byte>>> get(const BlockKey& key) override;
  Status erase(const BlockKey& key) override;
  bool move_on_promote() const override { return true; }
  std::int64_t stored_bytes() const override { return static_cast<std::int64_t>(used_); }

  std::size_t used_bytes() const { return used_; }
  std::size_t size() const { return entries_.size(); }
  std::int64_t demoted() const { return demoted_; }

 private:
  struct Entry {
    BlockKey key;
    std::vector<std::byte> bytes;
  };
  void make_room(std::size_t need);

  std::size_t capacity_;
  KvTier* next_;
  std::list<Entry> lru_;  // front = most recent
  std::unordered_map<BlockKey, std::list<Entry>::iterator, BlockKeyHash> entries_;
  std::size_t used_ = 0;
  std::int64_t demoted_ = 0;
};

}  // namespace agentrt::kv
