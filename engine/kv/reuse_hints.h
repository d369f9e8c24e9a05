// ReuseHints: when cached KV blocks are next needed, as a workflow planner knows it
// (KVFlow's steps to next use). Each owner (e.g. one step of a workflow) says "the blocks
// with these keys are next used in `steps` steps"; a key's hint is the least over its
// owners, and a key that no owner names is far (kFarNextUse). Engine thread only.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/kv/block_key.h"

namespace agentrt::kv {

using HintOwner = std::int64_t;

// The hint of a block that nothing is known to need.
inline constexpr std::int32_t kFarNextUse = std::numeric_limits<std::int32_t>::max();

class ReuseHints {
 public:
  using Changes = std::vector<std::pair<BlockKey, std::int32_t>>;

  // `keys` are next used in `steps` (>= 0) steps, replacing the owner's earlier hint.
  // Returns each key whose hint changed, with its new hint (kFarNextUse when none is left).
  Changes set(HintOwner owner, std::span<const BlockKey> keys, std::int32_t steps);
  // Drops the owner's hint; returns the changed keys as set() does. No-op for an unknown owner.
  Changes clear(HintOwner owner);
  // The least hint over the owners naming `key`; kFarNextUse when none does.
  std::int32_t next_use(const BlockKey& key) const;
  std::size_t owners() const { return owners_.size(); }
  std::size_t keys() const { return by_key_.size(); }

 private:
  struct OwnerHint {
    std::vector<BlockKey> keys;
    std::int32_t steps = 0;
  };
  void add(const OwnerHint& h);
  void remove(const OwnerHint& h);

  std::unordered_map<HintOwner, OwnerHint> owners_;
  // Per key: hint -> owners giving it.
  std::unordered_map<BlockKey, std::map<std::int32_t, std::int32_t>, BlockKeyHash> by_key_;
};

}  // namespace agentrt::kv
