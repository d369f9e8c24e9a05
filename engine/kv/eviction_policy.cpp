#include "engine/kv/eviction_policy.h"

namespace agentrt::kv {

void LruEvictionPolicy::add(std::int32_t block, TimePoint last_use) {
  remove(block);
  const Order o{last_use, seq_++};
  order_.emplace(o, block);
  where_.emplace(block, o);
}

void LruEvictionPolicy::remove(std::int32_t block) {
  auto it = where_.find(block);
  if (it == where_.end()) return;
  order_.erase(it->second);
  where_.erase(it);
}

std::optional<std::int32_t> LruEvictionPolicy::victim() const {
  if (order_.empty()) return std::nullopt;
  return order_.begin()->second;
}

std::unique_ptr<EvictionPolicy> make_lru_policy() {
  return std::make_unique<LruEvictionPolicy>();
}

}  // namespace agentrt::kv
