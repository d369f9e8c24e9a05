#include "cluster/kv_index.h"

#include <algorithm>

namespace agentrt::cluster {
namespace {

std::uint8_t tier_bit(KvTierKind t) {
  return static_cast<std::uint8_t>(1u << static_cast<int>(t));
}

}  // namespace

KvIndex::KvIndex(KvIndexOptions options) : opt_(options) {
  opt_.max_entries = std::max<std::size_t>(opt_.max_entries, 8);
}

void KvIndex::apply(const KvEvent& event) {
  const std::uint8_t bit = tier_bit(event.tier);
  for (const kv::BlockKey& key : event.keys) {
    switch (event.kind) {
      case KvEventKind::stored:
        store(event.node, key, bit);
        break;
      case KvEventKind::evicted:
        evict(event.node, key, bit);
        break;
      case KvEventKind::pinned:
        pin(event.node, key, +1);
        break;
      case KvEventKind::unpinned:
        pin(event.node, key, -1);
        break;
    }
  }
  if (entries_ > opt_.max_entries) shrink();
}

void KvIndex::store(NodeId node, const kv::BlockKey& key, std::uint8_t bit) {
  Entry& e = map_[key];
  e.stamp = ++clock_;
  auto it = std::lower_bound(e.holders.begin(), e.holders.end(), node,
                             [](const Holder& h, NodeId n) { return h.node < n; });
  if (it != e.holders.end() && it->node == node) {
    it->tiers |= bit;
    return;
  }
  e.holders.insert(it, Holder{node, bit, 0});
  ++entries_;
}

void KvIndex::evict(NodeId node, const kv::BlockKey& key, std::uint8_t bit) {
  auto m = map_.find(key);
  if (m == map_.end()) return;
  auto& hs = m->second.holders;
  auto it = std::lower_bound(hs.begin(), hs.end(), node,
                             [](const Holder& h, NodeId n) { return h.node < n; });
  if (it == hs.end() || it->node != node) return;
  it->tiers &= static_cast<std::uint8_t>(~bit);
  if (it->tiers != 0) return;
  hs.erase(it);
  --entries_;
  if (hs.empty()) map_.erase(m);
}

void KvIndex::pin(NodeId node, const kv::BlockKey& key, int delta) {
  auto m = map_.find(key);
  if (m == map_.end()) return;
  auto& hs = m->second.holders;
  auto it = std::lower_bound(hs.begin(), hs.end(), node,
                             [](const Holder& h, NodeId n) { return h.node < n; });
  if (it == hs.end() || it->node != node) return;
  if (delta > 0 && it->pins < UINT16_MAX) ++it->pins;
  if (delta < 0 && it->pins > 0) --it->pins;
}

void KvIndex::remove_node(NodeId node) {
  for (auto m = map_.begin(); m != map_.end();) {
    auto& hs = m->second.holders;
    auto it = std::lower_bound(hs.begin(), hs.end(), node,
                               [](const Holder& h, NodeId n) { return h.node < n; });
    if (it != hs.end() && it->node == node) {
      hs.erase(it);
      --entries_;
    }
    m = hs.empty() ? map_.erase(m) : std::next(m);
  }
}

void KvIndex::shrink() {
  std::vector<std::uint64_t> stamps;
  stamps.reserve(map_.size());
  for (const auto& [key, e] : map_)
    stamps.push_back(e.stamp);
  const std::size_t cut = std::max<std::size_t>(1, stamps.size() / 8);
  std::nth_element(stamps.begin(), stamps.begin() + static_cast<std::ptrdiff_t>(cut - 1),
                   stamps.end());
  const std::uint64_t oldest_kept = stamps[cut - 1];
  for (auto m = map_.begin(); m != map_.end();) {
    if (m->second.stamp <= oldest_kept) {
      entries_ -= m->second.holders.size();
      dropped_ += static_cast<std::int64_t>(m->second.holders.size());
      m = map_.erase(m);
    } else {
      ++m;
    }
  }
}

void KvIndex::match(std::span<const kv::BlockKey> keys, std::vector<PrefixMatch>& out) {
  out.clear();
  const std::uint64_t stamp = ++clock_;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    auto m = map_.find(keys[i]);
    if (m == map_.end()) break;
    m->second.stamp = stamp;
    const auto& hs = m->second.holders;
    bool extended = false;
    auto count = [](PrefixMatch& pm, const Holder& h) {
      ++pm.blocks;
      if (h.tiers & tier_bit(KvTierKind::device))
        ++pm.device_blocks;
      else if (h.tiers & tier_bit(KvTierKind::host))
        ++pm.host_blocks;
      else
        ++pm.persisted_blocks;
      if (h.pins > 0) ++pm.pinned_blocks;
    };
    if (i == 0) {
      alive_.clear();
      for (const Holder& h : hs) {
        alive_.push_back(static_cast<std::uint32_t>(out.size()));
        out.push_back(PrefixMatch{h.node});
        count(out.back(), h);
      }
      extended = !out.empty();
    } else {
      // Both lists are sorted by node: each node still matching is looked up from where the
      // previous one was found, so a key held by many nodes costs O(alive x log holders).
      next_.clear();
      auto h = hs.begin();
      for (const std::uint32_t a : alive_) {
        PrefixMatch& pm = out[a];
        h = std::lower_bound(h, hs.end(), pm.node,
                             [](const Holder& x, NodeId n) { return x.node < n; });
        if (h == hs.end()) break;
        if (h->node == pm.node) {
          count(pm, *h);
          next_.push_back(a);
        }
      }
      alive_.swap(next_);
      extended = !alive_.empty();
    }
    if (!extended) break;
  }
}

bool KvIndex::holds(NodeId node, const kv::BlockKey& key, KvTierKind tier) const {
  auto m = map_.find(key);
  if (m == map_.end()) return false;
  for (const Holder& h : m->second.holders)
    if (h.node == node) return (h.tiers & tier_bit(tier)) != 0;
  return false;
}

}  // namespace agentrt::cluster
