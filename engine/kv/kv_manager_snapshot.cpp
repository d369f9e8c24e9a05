// KvManager: the enumeration of what it holds per tier, with pins (held_blocks).
#include <algorithm>
#include <unordered_map>

#include "engine/kv/kv_manager.h"

namespace agentrt::kv {

std::vector<KvHeldBlock> KvManager::held_blocks(std::size_t max) const {
  std::vector<KvHeldBlock> out;
  // Device: as the events report it, stored for an indexed block, a pin on any block with
  // a key; a second block with the same content adds its pins to the indexed one's.
  std::unordered_map<BlockKey, std::size_t, BlockKeyHash> at;
  for (std::int32_t id = 0; id < pool_.num_blocks() && out.size() < max; ++id) {
    const Block& b = pool_.block(id);
    if (!b.indexed || !b.key) continue;
    at.emplace(*b.key, out.size());
    out.push_back({0, *b.key, 0});
  }
  for (std::int32_t id = 0; id < pool_.num_blocks(); ++id) {
    const Block& b = pool_.block(id);
    if (b.pins == 0 || !b.key) continue;
    if (auto it = at.find(*b.key); it != at.end()) out[it->second].pins += b.pins;
  }
  std::vector<BlockKey> keys;
  for (std::size_t t = 0; t < tiers_.size() && out.size() < max; ++t) {
    keys.clear();
    tiers_[t]->list_keys(keys, max - out.size());
    for (const BlockKey& key : keys)
      out.push_back({static_cast<std::uint8_t>(std::min<std::size_t>(t + 1, 255)), key, 0});
  }
  return out;
}

}  // namespace agentrt::kv
