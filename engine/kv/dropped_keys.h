// DroppedKeys: the keys a KV tier dropped on its own (its LRU), kept for KvTier::take_dropped
// up to KvTier::kMaxDroppedKeys, the oldest lost past that. Not synchronized: a thread-safe
// tier guards it with its own lock.
#pragma once

#include <cstddef>
#include <deque>
#include <vector>

#include "engine/kv/kv_tier.h"

namespace agentrt::kv {

class DroppedKeys {
 public:
  void add(const BlockKey& key) {
    if (keys_.size() >= KvTier::kMaxDroppedKeys) keys_.pop_front();
    keys_.push_back(key);
  }
  // Appends every key recorded, oldest first, and forgets them.
  void take(std::vector<BlockKey>& out) {
    out.insert(out.end(), keys_.begin(), keys_.end());
    keys_.clear();
  }

 private:
  std::deque<BlockKey> keys_;
};

}  // namespace agentrt::kv
