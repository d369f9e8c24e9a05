#include "engine/kv/segment_cache.h"

#include <algorithm>

namespace agentrt::kv {

SegmentCache::SegmentCache(std::size_t capacity_bytes, std::string fingerprint)
    : capacity_(capacity_bytes),
      fingerprint_(std::move(fingerprint)),
      root_(root_key(fingerprint_)) {}

BlockKey SegmentCache::key(std::span<const std::int32_t> tokens) const {
  return chain_key(root_, tokens, fingerprint_);
}

std::shared_ptr<const SegmentEntry> SegmentCache::find(std::span<const std::int32_t> tokens) {
  ++stats_.lookups;
  auto it = slots_.find(key(tokens));
  if (it == slots_.end() ||
      !std::equal(tokens.begin(), tokens.end(), it->second.entry->tokens.begin(),
                  it->second.entry->tokens.end())) {
    return nullptr;
  }
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  ++stats_.hits;
  return it->second.entry;
}

void SegmentCache::erase(const BlockKey& key) {
  auto it = slots_.find(key);
  if (it == slots_.end()) return;
  bytes_ -= it->second.entry->bytes();
  lru_.erase(it->second.lru);
  slots_.erase(it);
}

bool SegmentCache::insert(SegmentEntry entry) {
  const std::size_t size = entry.bytes();
  if (size > capacity_ || entry.tokens.empty()) return false;
  const BlockKey k = key(entry.tokens);
  erase(k);
  while (bytes_ + size > capacity_ && !lru_.empty()) {
    erase(lru_.back());
    ++stats_.evictions;
  }
  lru_.push_front(k);
  slots_.emplace(k, Slot{std::make_shared<const SegmentEntry>(std::move(entry)), lru_.begin()});
  bytes_ += size;
  ++stats_.inserts;
  return true;
}

void SegmentCache::count_use(std::int64_t reused, std::int64_t recomputed) {
  stats_.tokens_reused += reused;
  stats_.tokens_recomputed += recomputed;
}

SegmentCacheStats SegmentCache::stats() const {
  SegmentCacheStats s = stats_;
  s.entries = static_cast<std::int64_t>(slots_.size());
  s.bytes = static_cast<std::int64_t>(bytes_);
  return s;
}

}  // namespace agentrt::kv
