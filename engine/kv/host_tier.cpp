#include "engine/kv/host_tier.h"

#include <algorithm>
#include <climits>
#include <cstring>

namespace agentrt::kv {

HostTier::HostTier(std::size_t capacity_bytes, KvTier* next, std::size_t block_bytes)
    : capacity_(capacity_bytes), next_(next) {
  if (block_bytes > 0) allocate_slab(block_bytes);
}

void HostTier::allocate_slab(std::size_t block_bytes) {
  slot_bytes_ = block_bytes;
  slots_ = std::min<std::size_t>(capacity_ / block_bytes, INT32_MAX);  // slot ids are int32
  if (slots_ == 0) return;
  // Left uninitialized: the OS commits pages as slots are first written. Slot metadata
  // grows as slots are first used, so a large, mostly empty tier costs little.
  slab_.reset(new std::byte[slots_ * slot_bytes_]);
}

void HostTier::link_front(std::int32_t s) {
  prev_[s] = kNone;
  next_slot_[s] = head_;
  if (head_ != kNone) prev_[head_] = s;
  head_ = s;
  if (tail_ == kNone) tail_ = s;
}

void HostTier::unlink(std::int32_t s) {
  if (prev_[s] != kNone) next_slot_[prev_[s]] = next_slot_[s];
  if (next_slot_[s] != kNone) prev_[next_slot_[s]] = prev_[s];
  if (head_ == s) head_ = next_slot_[s];
  if (tail_ == s) tail_ = prev_[s];
  prev_[s] = next_slot_[s] = kNone;
}

std::int32_t HostTier::acquire_slot() {
  if (!free_.empty()) {
    const std::int32_t s = free_.back();
    free_.pop_back();
    return s;
  }
  if (keys_.size() < slots_) {  // never used yet: low slots first
    keys_.emplace_back();
    prev_.push_back(kNone);
    next_slot_.push_back(kNone);
    return static_cast<std::int32_t>(keys_.size() - 1);
  }
  const std::int32_t victim = tail_;
  if (victim == kNone) return kNone;
  if (next_ != nullptr) {
    // A failed demotion only loses a cache entry.
    next_->put(keys_[victim], slot_span(victim)).permit_unchecked();
    ++demoted_;
  }
  unlink(victim);
  index_.erase(keys_[victim]);
  dropped_.add(keys_[victim]);
  return victim;
}

Status HostTier::put(const BlockKey& key, std::span<const std::byte> bytes) {
  erase(key).permit_unchecked();
  if (slot_bytes_ == 0 && bytes.size() <= capacity_ && !bytes.empty()) allocate_slab(bytes.size());
  const std::int32_t s = bytes.size() == slot_bytes_ ? acquire_slot() : kNone;
  if (s == kNone) {
    if (next_ != nullptr) return next_->put(key, bytes);
    return make_error(ErrorCode::out_of_memory,
                      "host tier: no slot for a value of " + std::to_string(bytes.size()) +
                          " bytes (slots of " + std::to_string(slot_bytes_) + ", capacity " +
                          std::to_string(capacity_) + ")");
  }
  std::memcpy(slot_span(s).data(), bytes.data(), bytes.size());
  keys_[s] = key;
  link_front(s);
  index_.emplace(key, s);
  return ok_status();
}

Result<std::optional<std::vector<std::byte>>> HostTier::get(const BlockKey& key) {
  auto v = peek(key);
  if (!v) return std::optional<std::vector<std::byte>>();
  return std::optional<std::vector<std::byte>>(std::vector<std::byte>(v->begin(), v->end()));
}

std::optional<std::span<const std::byte>> HostTier::peek(const BlockKey& key) {
  auto it = index_.find(key);
  if (it == index_.end()) return std::nullopt;
  unlink(it->second);
  link_front(it->second);
  return slot_span(it->second);
}

Status HostTier::erase(const BlockKey& key) {
  auto it = index_.find(key);
  if (it == index_.end()) return ok_status();
  unlink(it->second);
  free_.push_back(it->second);
  index_.erase(it);
  return ok_status();
}

std::optional<std::span<const std::byte>> HostTier::take(const BlockKey& key) {
  auto it = index_.find(key);
  if (it == index_.end()) return std::nullopt;
  const std::int32_t s = it->second;
  unlink(s);
  index_.erase(it);
  taken_.push_back(s);
  return slot_span(s);
}

void HostTier::release_taken() {
  free_.insert(free_.end(), taken_.begin(), taken_.end());
  taken_.clear();
}

std::optional<std::span<std::byte>> HostTier::reserve(const BlockKey& key, std::size_t bytes) {
  erase(key).permit_unchecked();
  cancel(key);
  if (slot_bytes_ == 0 && bytes <= capacity_ && bytes > 0) allocate_slab(bytes);
  if (bytes != slot_bytes_) return std::nullopt;
  const std::int32_t s = acquire_slot();
  if (s == kNone) return std::nullopt;
  keys_[s] = key;
  reserved_.emplace(key, s);
  return slot_span(s);
}

void HostTier::commit(const BlockKey& key) {
  auto it = reserved_.find(key);
  if (it == reserved_.end()) return;
  const std::int32_t s = it->second;
  reserved_.erase(it);
  erase(key).permit_unchecked();  // a put() since reserve() loses to the reserved value
  link_front(s);
  index_.emplace(key, s);
}

void HostTier::cancel(const BlockKey& key) {
  auto it = reserved_.find(key);
  if (it == reserved_.end()) return;
  free_.push_back(it->second);
  reserved_.erase(it);
}

void HostTier::list_keys(std::vector<BlockKey>& out, std::size_t max) const {
  std::size_t n = 0;
  for (std::int32_t s = head_; s != kNone && n < max; s = next_slot_[s]) {
    const BlockKey& key = keys_[static_cast<std::size_t>(s)];
    auto it = index_.find(key);
    if (it == index_.end() || it->second != s) continue;  // not published
    out.push_back(key);
    ++n;
  }
}

}  // namespace agentrt::kv
