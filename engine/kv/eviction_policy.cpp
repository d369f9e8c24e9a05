#include "engine/kv/eviction_policy.h"

namespace agentrt::kv {

void LruEvictionPolicy::add(std::int32_t block, TimePoint last_use) {
  remove(block);
  const Order o{-static_cast<std::int64_t>(next_use(block)), last_use, seq_++};
  order_.emplace(o, block);
  where_.emplace(block, o);
}

void LruEvictionPolicy::remove(std::int32_t block) {
  auto it = where_.find(block);
  if (it == where_.end()) return;
  order_.erase(it->second);
  where_.erase(it);
}

void LruEvictionPolicy::set_next_use(std::int32_t block, std::int32_t steps) {
  if (steps == kFarNextUse) {
    hints_.erase(block);
  } else {
    hints_[block] = steps;
  }
  auto it = where_.find(block);
  if (it == where_.end()) return;
  // Re-file under the new hint, keeping its last use and insertion order.
  Order o = it->second;
  order_.erase(o);
  std::get<0>(o) = -static_cast<std::int64_t>(steps);
  order_.emplace(o, block);
  it->second = o;
}

std::int32_t LruEvictionPolicy::next_use(std::int32_t block) const {
  auto it = hints_.find(block);
  return it == hints_.end() ? kFarNextUse : it->second;
}

std::optional<std::int32_t> LruEvictionPolicy::victim() const {
  if (order_.empty()) return std::nullopt;
  return order_.begin()->second;
}

std::unique_ptr<EvictionPolicy> make_lru_policy() {
  return std::make_unique<LruEvictionPolicy>();
}

}  // namespace agentrt::kv
