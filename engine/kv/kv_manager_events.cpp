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
  if (events_.empty()) return;
  if (listener_) listener_(events_);
  events_.clear();
}

}  // namespace agentrt::kv
