// EvictionPolicy: chooses which unreferenced, unpinned cached block the pool reclaims next.
// The pool tells the policy when a block becomes evictable (with the time of its last use)
// and when it stops being evictable, and forwards workflow hints of when a block's content
// is next needed (ReuseHints); victim() is the only call that picks. Engine thread only.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <tuple>
#include <unordered_map>

#include "engine/kv/clock.h"
#include "engine/kv/reuse_hints.h"

namespace agentrt::kv {

class EvictionPolicy {
 public:
  virtual ~EvictionPolicy() = default;
  // `block` may now be evicted; it was last used at `last_use`.
  virtual void add(std::int32_t block, TimePoint last_use) = 0;
  // `block` is referenced again (or gone); no-op if it is not tracked.
  virtual void remove(std::int32_t block) = 0;
  // `block`'s content is next used in `steps` steps (kFarNextUse: not known to be), whether
  // or not it is evictable now; the hint stays with the block until changed.
  virtual void set_next_use(std::int32_t block, std::int32_t steps) = 0;
  // The hint last set for `block`; kFarNextUse when none.
  virtual std::int32_t next_use(std::int32_t block) const = 0;
  // The block to evict next, without removing it; nullopt when none is evictable.
  virtual std::optional<std::int32_t> victim() const = 0;
  virtual std::size_t size() const = 0;
};

// Least recently used first among the blocks whose next use is farthest (KVFlow's
// steps-to-next-use order); blocks without a hint count as farthest, so with no hints this
// is plain LRU. Ties broken by insertion order.
class LruEvictionPolicy final : public EvictionPolicy {
 public:
  void add(std::int32_t block, TimePoint last_use) override;
  void remove(std::int32_t block) override;
  void set_next_use(std::int32_t block, std::int32_t steps) override;
  std::int32_t next_use(std::int32_t block) const override;
  std::optional<std::int32_t> victim() const override;
  std::size_t size() const override { return where_.size(); }

 private:
  // (-next use, last use, insertion): the farthest next use first, then the oldest.
  using Order = std::tuple<std::int64_t, TimePoint, std::uint64_t>;
  std::map<Order, std::int32_t> order_;
  std::unordered_map<std::int32_t, Order> where_;
  std::unordered_map<std::int32_t, std::int32_t> hints_;  // blocks with a hint only
  std::uint64_t seq_ = 0;
};

std::unique_ptr<EvictionPolicy> make_lru_policy();

}  // namespace agentrt::kv
