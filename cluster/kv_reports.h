// A node's KV reports applied to the coordinator's Router: its events (KvEventMsg: stored,
// evicted, pinned, unpinned, or the clear marker) and the parts of its snapshots
// (KvSnapshotMsg: part 0 drops what the index knew of the node, then every part's keys are
// stored in its tier and their pins counted). The coordinator actor calls these for each
// message a member sends; tests call them to check what a node's drained messages rebuild.
#pragma once

#include "cluster/router.h"
#include "cluster/wire.h"
#include "engine/common/result.h"

namespace agentrt::cluster {

// A key's pins counted in the index at most this often from a snapshot (a pin count is one
// event each); beyond it the index knows fewer pins than the node holds, never more.
inline constexpr std::int32_t kMaxAppliedSnapshotPins = 64;

// Applies `m` for `node`. A kind or tier the index does not know is ignored. Errors:
// not_found when the node is not live in the router.
Status apply_kv_event(Router& router, NodeId node, const KvEventMsg& m);

// Applies `m` for `node` after check_kv_snapshot (wire_checks.h). Errors: that check's
// (nothing applied), not_found when the node is not live in the router.
Status apply_kv_snapshot(Router& router, NodeId node, const KvSnapshotMsg& m);

}  // namespace agentrt::cluster
