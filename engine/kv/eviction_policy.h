// EvictionPolicy: chooses which unreferenced, unpinned cached block the pool reclaims next.
// The pool tells the policy when a block becomes evictable (with the time of its last use)
// and when it stops being evictable; victim() is the only call that picks. Engine thread only.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <unordered_map>

#include "engine/kv/clock.h"

namespace agentrt::kv {

class EvictionPolicy {
 public:
  virtual ~EvictionPolicy() = default;
  // `block` may now be evicted; it was last used at `last_use`.
  virtual void add(std::int32_t block, TimePoint last_use) = 0;
  // `block` is referenced again (or gone); no-op if it is not tracked.
  virtual void remove(std::int32_t block) = 0;
  // The block to evict next, without removing it; nullopt when none is evictable.
  virtual std::optional<std::int32_t> victim() const = 0;
  virtual std::size_t size() const = 0;
};

// Least recently used first; ties broken by insertion order.
class LruEvictionPolicy final : public EvictionPolicy {
 public:
  void add(std::int32_t block, TimePoint last_use) override;
  void remove(std::int32_t block) override;
  std::optional<std::int32_t> victim() const override;
  std::size_t size() const override { return where_.size(); }

 private:
  using Order = std::pair<TimePoint, std::uint64_t>;
  std::map<Order, std::int32_t> order_;
  std::unordered_map<std::int32_t, Order> where_;
  std::uint64_t seq_ = 0;
};

std::unique_ptr<EvictionPolicy> make_lru_policy();

}  // namespace agentrt::kv
