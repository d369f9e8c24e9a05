// KV events: what a KvManager tells a listener about the content it holds, by chained block
// key only (block_key.h), so that a cluster coordinator can index which node caches which
// prefix (cluster/kv_index.h) without seeing tokens or bytes.
//
//   stored    a block with this key became findable in `tier`: sealed into the device prefix
//             index, written back to the host tier on eviction, offered to the persistent
//             tier's write-behind (the write may still fail), promoted back to the device
//   evicted   it left `tier`: reclaimed on the device, taken out of the host tier on promotion,
//             dropped from a lower tier as unusable, or by that tier's own LRU (told at the
//             next flush_events, KvTier::take_dropped)
//   pinned    a pin now holds the device block (one event per pin: two pins, two events)
//   unpinned  a pin let go of it (unpin, expiry, revocation)
//
// Not reported: values a lower tier drops on its own (the host tier's LRU demotion), so a
// consumer's view of the lower tiers may hold keys they have dropped since.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "engine/kv/block_key.h"

namespace agentrt::kv {

enum class KvEventType : std::uint8_t { stored = 0, evicted = 1, pinned = 2, unpinned = 3 };

// Tiers as events name them: 0 the device pool, 1.. the KvManager's lower tiers in their
// order (the engine's: 1 host RAM, 2 the persistent store).
struct KvBlockEvent {
  KvEventType type = KvEventType::stored;
  std::uint8_t tier = 0;
  BlockKey key;
};

// Told a batch of events in the order they happened, on the thread of the KvManager's
// caller (the engine thread). It must be quick and must not call the KvManager; the
// manager holds no lock while calling it.
using KvEventListener = std::function<void(std::span<const KvBlockEvent>)>;

}  // namespace agentrt::kv
