#include "engine/kv/host_tier.h"

namespace agentrt::kv {

HostTier::HostTier(std::size_t capacity_bytes, KvTier* next)
    : capacity_(capacity_bytes), next_(next) {}

void HostTier::make_room(std::size_t need) {
  while (!lru_.empty() && used_ + need > capacity_) {
    Entry& victim = lru_.back();
    if (next_ != nullptr) {
      // A failed demotion only loses a cache entry.
      next_->put(victim.key, victim.bytes).permit_unchecked();
      ++demoted_;
    }
    used_ -= victim.bytes.size();
    entries_.erase(victim.key);
    lru_.pop_back();
  }
}

Status HostTier::put(const BlockKey& key, std::span<const std::byte> bytes) {
  erase(key).permit_unchecked();
  if (bytes.size() > capacity_) {
    if (next_ != nullptr) return next_->put(key, bytes);
    return make_error(
        ErrorCode::out_of_memory,
        "host tier: value of " + std::to_string(bytes.size()) + " bytes exceeds the capacity");
  }
  make_room(bytes.size());
  lru_.push_front(Entry{key, std::vector<std::byte>(bytes.begin(), bytes.end())});
  entries_.emplace(key, lru_.begin());
  used_ += bytes.size();
  return ok_status();
}

Result<std::optional<std::vector<std::byte>>> HostTier::get(const BlockKey& key) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::optional<std::vector<std::byte>>();
  lru_.splice(lru_.begin(), lru_, it->second);
  return std::optional<std::vector<std::byte>>(it->second->bytes);
}

Status HostTier::erase(const BlockKey& key) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return ok_status();
  used_ -= it->second->bytes.size();
  lru_.erase(it->second);
  entries_.erase(it);
  return ok_status();
}

}  // namespace agentrt::kv
