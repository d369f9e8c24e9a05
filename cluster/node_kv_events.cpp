// NodeKvEvents (node_kv_events.h): the bounded queue and its batching into KvEventMsg.
#include "cluster/node_kv_events.h"

#include <algorithm>

namespace agentrt::cluster {

NodeKvEvents::NodeKvEvents(NodeKvEventsOptions options) : opt_(options) {
  opt_.max_batch = std::max<std::size_t>(opt_.max_batch, 1);
  opt_.max_backlog = std::max<std::size_t>(opt_.max_backlog, 1);
}

kv::KvEventListener NodeKvEvents::listener() {
  return [this](std::span<const kv::KvBlockEvent> events) { push(events); };
}

void NodeKvEvents::push(std::span<const kv::KvBlockEvent> events) {
  std::lock_guard lock(mu_);
  queue_.insert(queue_.end(), events.begin(), events.end());
  if (queue_.size() > opt_.max_backlog) {
    const std::size_t over = queue_.size() - opt_.max_backlog;
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(over));
    dropped_ += static_cast<std::int64_t>(over);
    clear_ = true;
  }
}

std::vector<KvEventMsg> NodeKvEvents::drain() {
  std::deque<kv::KvBlockEvent> events;
  bool clear = false;
  {
    std::lock_guard lock(mu_);
    events.swap(queue_);
    std::swap(clear, clear_);
  }
  std::vector<KvEventMsg> out;
  if (clear) out.push_back(KvEventMsg{kKvEventClear, 0, {}});
  for (const kv::KvBlockEvent& e : events) {
    const auto kind = static_cast<std::int32_t>(e.type);
    const auto tier = static_cast<std::int32_t>(std::min<std::uint8_t>(e.tier, 2));
    if (out.empty() || out.back().kind != kind || out.back().tier != tier ||
        out.back().keys.size() >= 2 * opt_.max_batch)
      out.push_back(KvEventMsg{kind, tier, {}});
    out.back().keys.push_back(e.key.hi);
    out.back().keys.push_back(e.key.lo);
  }
  return out;
}

std::int64_t NodeKvEvents::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

}  // namespace agentrt::cluster
