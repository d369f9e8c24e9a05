// A node's KV events and snapshots applied to the Router (kv_reports.h).
#include "cluster/kv_reports.h"

#include <algorithm>

#include "cluster/wire_checks.h"

namespace agentrt::cluster {

Status apply_kv_event(Router& router, NodeId node, const KvEventMsg& m) {
  if (m.kind == kKvEventClear) return router.clear(node);  // the node lost events
  if (m.kind < 0 || m.kind > 3 || m.tier < 0 || m.tier >= kKvTierCount) return ok_status();
  KvEvent e;
  e.node = node;
  e.kind = static_cast<KvEventKind>(m.kind);
  e.tier = static_cast<KvTierKind>(m.tier);
  e.keys.reserve(m.keys.size() / 2);
  for (std::size_t i = 0; i + 1 < m.keys.size(); i += 2)
    e.keys.push_back({m.keys[i], m.keys[i + 1]});
  return router.apply(e);
}

Status apply_kv_snapshot(Router& router, NodeId node, const KvSnapshotMsg& m) {
  if (auto s = check_kv_snapshot(m); !s.ok()) return s;
  if (m.part == 0)
    if (auto s = router.clear(node); !s.ok()) return s;
  KvEvent stored;
  stored.node = node;
  stored.kind = KvEventKind::stored;
  stored.tier = static_cast<KvTierKind>(m.tier);
  KvEvent pinned = stored;
  pinned.kind = KvEventKind::pinned;
  stored.keys.reserve(m.keys.size() / 2);
  for (std::size_t i = 0; i + 1 < m.keys.size(); i += 2) {
    const kv::BlockKey key{m.keys[i], m.keys[i + 1]};
    stored.keys.push_back(key);
    if (m.pins.empty()) continue;
    const std::int32_t pins = std::min(m.pins[i / 2], kMaxAppliedSnapshotPins);
    for (std::int32_t p = 0; p < pins; ++p)
      pinned.keys.push_back(key);
  }
  if (auto s = router.apply(stored); !s.ok()) return s;
  if (pinned.keys.empty()) return ok_status();
  return router.apply(pinned);
}

}  // namespace agentrt::cluster
