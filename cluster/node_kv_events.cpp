// NodeKvEvents (node_kv_events.h): the bounded queue, snapshots, and their batching into
// KvEventMsg and KvSnapshotMsg.
#include "cluster/node_kv_events.h"

#include <algorithm>
#include <utility>

namespace agentrt::cluster {
namespace {

std::int32_t wire_tier(std::uint8_t tier) {
  return static_cast<std::int32_t>(std::min<std::uint8_t>(tier, 2));
}

// A snapshot's parts: runs of one tier, at most max_batch keys each; part 0 always.
std::vector<KvSnapshotMsg> parts_of(const std::vector<kv::KvHeldBlock>& blocks,
                                    std::size_t max_batch) {
  std::vector<KvSnapshotMsg> out;
  out.push_back(KvSnapshotMsg{0, 0, {}, {}});
  for (const kv::KvHeldBlock& b : blocks) {
    const std::int32_t tier = wire_tier(b.tier);
    KvSnapshotMsg* m = &out.back();
    if ((m->tier != tier && !m->keys.empty()) || m->keys.size() >= 2 * max_batch) {
      out.push_back(KvSnapshotMsg{static_cast<std::int32_t>(out.size()), tier, {}, {}});
      m = &out.back();
    }
    m->tier = tier;
    m->keys.push_back(b.key.hi);
    m->keys.push_back(b.key.lo);
    m->pins.push_back(std::clamp(b.pins, 0, kMaxWireSnapshotPins));
  }
  for (KvSnapshotMsg& m : out)  // pins only where some key has one
    if (std::all_of(m.pins.begin(), m.pins.end(), [](std::int32_t p) { return p == 0; }))
      m.pins.clear();
  return out;
}

}  // namespace

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
    // Events after a pending snapshot are lost: it no longer leads to what the node holds.
    snapshot_.reset();
    clear_ = true;
    want_snapshot_ = true;
  }
}

void NodeKvEvents::push_snapshot(std::vector<kv::KvHeldBlock> blocks) {
  std::lock_guard lock(mu_);
  queue_.clear();  // they happened before the snapshot, which replaces them
  clear_ = false;  // its first part clears
  snapshot_ = std::move(blocks);
}

bool NodeKvEvents::take_snapshot_request() {
  std::lock_guard lock(mu_);
  return std::exchange(want_snapshot_, false);
}

KvOutbox NodeKvEvents::drain() {
  std::deque<kv::KvBlockEvent> events;
  std::optional<std::vector<kv::KvHeldBlock>> snapshot;
  bool clear = false;
  {
    std::lock_guard lock(mu_);
    events.swap(queue_);
    snapshot.swap(snapshot_);
    std::swap(clear, clear_);
  }
  KvOutbox out;
  if (snapshot) out.snapshot = parts_of(*snapshot, opt_.max_batch);
  if (clear) out.events.push_back(KvEventMsg{kKvEventClear, 0, {}});
  for (const kv::KvBlockEvent& e : events) {
    const auto kind = static_cast<std::int32_t>(e.type);
    const std::int32_t tier = wire_tier(e.tier);
    if (out.events.empty() || out.events.back().kind != kind || out.events.back().tier != tier ||
        out.events.back().keys.size() >= 2 * opt_.max_batch)
      out.events.push_back(KvEventMsg{kind, tier, {}});
    out.events.back().keys.push_back(e.key.hi);
    out.events.back().keys.push_back(e.key.lo);
  }
  return out;
}

std::int64_t NodeKvEvents::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

}  // namespace agentrt::cluster
