// KvManager: the KV event listener and its buffer (kv_events.h).
#include <algorithm>

#include "engine/kv/kv_manager.h"

namespace agentrt::kv {

void KvManager::set_event_listener(KvEventListener listener) {
  flush_events();  // what the old listener's events were, it hears
  listener_ = std::move(listener);
  if (listener_) events_.reserve(64);
}

void KvManager::record(KvEventType type, std::size_t tier, const BlockKey& key) {
  events_.push_back({type, static_cast<std::uint8_t>(std::min<std::size_t>(tier, 255)), key});
  if (events_.size() >= kMaxBufferedEvents) flush_events();
}

void KvManager::flush_events() {
  // What the lower tiers dropped on their own since the last flush (their LRU): evicted
  // there. Reported here, after the step's own events: a key dropped and stored again within
  // one step reads as dropped (the index then misses a block, never serves a wrong one).
  // Taken without a listener too, so that the tiers' records stay short.
  for (std::size_t i = 0; i < tiers_.size(); ++i) {
    dropped_.clear();
    tiers_[i]->take_dropped(dropped_);
    if (!listener_) continue;
    const auto tier = static_cast<std::uint8_t>(std::min<std::size_t>(i + 1, 255));
    for (const BlockKey& key : dropped_)
      events_.push_back({KvEventType::evicted, tier, key});
  }
  if (events_.empty()) return;
  if (listener_) listener_(events_);
  events_.clear();
}

}  // namespace agentrt::kv
