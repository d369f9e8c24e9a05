// PrefixIndex: maps the content key of a full cached block to the device block holding it.
// At most one block per key; a second block with the same content stays unindexed.
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>

#include "engine/kv/block_key.h"

namespace agentrt::kv {

class PrefixIndex {
 public:
  std::optional<std::int32_t> find(const BlockKey& key) const {
    auto it = map_.find(key);
    if (it == map_.end()) return std::nullopt;
    return it->second;
  }
  // Maps key -> block unless the key is taken. Returns whether it inserted.
  bool insert(const BlockKey& key, std::int32_t block) { return map_.emplace(key, block).second; }
  // Removes key if it maps to `block`.
  void erase(const BlockKey& key, std::int32_t block) {
    auto it = map_.find(key);
    if (it != map_.end() && it->second == block) map_.erase(it);
  }
  std::size_t size() const { return map_.size(); }

 private:
  std::unordered_map<BlockKey, std::int32_t, BlockKeyHash> map_;
};

}  // namespace agentrt::kv
