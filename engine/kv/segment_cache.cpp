#include "engine/kv/segment_cache.h"

#include <algorithm>

#include "engine/kv/segment_value.h"

namespace agentrt::kv {

// Segment keys chain from a root of their own, so a segment of exactly one block's tokens
// never shares a key (or a persistent tier's row) with that block.
SegmentCache::SegmentCache(std::size_t capacity_bytes, std::string fingerprint,
                           const SegmentStoreOptions& store)
    : capacity_(capacity_bytes),
      fingerprint_(std::move(fingerprint)),
      root_(root_key("segment|" + fingerprint_)),
      store_(store) {
  if (store_.tier != nullptr)
    persister_ = std::make_unique<KvPersister>(store_.tier, store_.persist);
}

SegmentCache::~SegmentCache() = default;  // the persister writes its queue

BlockKey SegmentCache::key(std::span<const std::int32_t> tokens) const {
  return chain_key(root_, tokens, fingerprint_);
}

std::shared_ptr<const SegmentEntry> SegmentCache::find(std::span<const std::int32_t> tokens) {
  ++stats_.lookups;
  const BlockKey k = key(tokens);
  auto it = slots_.find(k);
  if (it == slots_.end()) return load(k, tokens);
  if (!std::equal(tokens.begin(), tokens.end(), it->second.entry->tokens.begin(),
                  it->second.entry->tokens.end())) {
    return nullptr;
  }
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  ++stats_.hits;
  return it->second.entry;
}

// A RAM miss: the persistent tier's value, checked, becomes a RAM entry. The size these
// tokens need is checked against the cap before the tier is read.
std::shared_ptr<const SegmentEntry> SegmentCache::load(const BlockKey& k,
                                                       std::span<const std::int32_t> tokens) {
  if (store_.tier == nullptr || tokens.empty() ||
      tokens.size() * (store_.token_kv_bytes + sizeof(std::int32_t)) > capacity_)
    return nullptr;
  const std::string where = "segment " + k.hex() + " in '" + store_.tier->name() + "'";
  auto value = store_.tier->get(k);
  if (!value.ok()) {
    ++stats_.store_errors;
    stats_.last_store_error = where + ": read failed: " + value.error().message;
    return nullptr;
  }
  if (!*value) return nullptr;
  auto entry = decode_segment(**value, tokens, store_.token_kv_bytes);
  if (!entry.ok()) {
    ++stats_.store_rejected;
    stats_.last_store_error = where + ": refused, recomputed: " + entry.error().message;
    store_.tier->erase(k).permit_unchecked();  // the recomputed segment is written anew
    return nullptr;
  }
  entry->id = next_segment_id();  // a new copy in this process: a new name for it
  auto kept = keep(k, std::move(*entry));
  if (kept) {
    ++stats_.hits;
    ++stats_.store_hits;
    persister_->mark_known(k);
  }
  return kept;
}

void SegmentCache::erase(const BlockKey& key) {
  auto it = slots_.find(key);
  if (it == slots_.end()) return;
  bytes_ -= it->second.entry->bytes();
  lru_.erase(it->second.lru);
  slots_.erase(it);
}

std::shared_ptr<const SegmentEntry> SegmentCache::keep(const BlockKey& k, SegmentEntry entry) {
  const std::size_t size = entry.bytes();
  if (size > capacity_ || entry.tokens.empty()) return nullptr;
  erase(k);
  while (bytes_ + size > capacity_ && !lru_.empty()) {
    erase(lru_.back());
    ++stats_.evictions;
  }
  lru_.push_front(k);
  auto shared = std::make_shared<const SegmentEntry>(std::move(entry));
  slots_.emplace(k, Slot{shared, lru_.begin()});
  bytes_ += size;
  return shared;
}

bool SegmentCache::insert(SegmentEntry entry) {
  const BlockKey k = key(entry.tokens);
  std::vector<std::byte> stored;
  if (persister_ && entry.bytes() <= capacity_ && !entry.tokens.empty())
    stored = encode_segment(entry, store_.token_kv_bytes);
  if (!keep(k, std::move(entry))) return false;
  ++stats_.inserts;
  if (persister_) {
    persister_->offer(k, std::move(stored));
    persister_->submit();
  }
  return true;
}

void SegmentCache::count_use(std::int64_t reused, std::int64_t recomputed) {
  stats_.tokens_reused += reused;
  stats_.tokens_recomputed += recomputed;
}

Status SegmentCache::flush() {
  if (!persister_) return ok_status();
  persister_->drain();
  const std::int64_t failed = persister_->errors() - flushed_errors_;
  flushed_errors_ = persister_->errors();
  if (failed == 0) return ok_status();
  return make_error(ErrorCode::io, "segment cache: " + std::to_string(failed) +
                                       " segments failed to write to '" + store_.tier->name() +
                                       "'");
}

SegmentCacheStats SegmentCache::stats() const {
  SegmentCacheStats s = stats_;
  s.entries = static_cast<std::int64_t>(slots_.size());
  s.bytes = static_cast<std::int64_t>(bytes_);
  if (persister_) {
    s.store_written = persister_->written();
    s.store_errors += persister_->errors();
  }
  return s;
}

}  // namespace agentrt::kv
