// KvIndex: the coordinator's view of which node holds which KV blocks, built from the nodes'
// KV events (chained block keys only, engine/kv/block_key.h), per tier (device, host,
// persisted). It answers "how long a prefix of this request does each node hold" in time
// linear in the prefix length. Memory is bounded: past `max_entries` (key, node) pairs the
// least recently stored or matched keys are dropped, and a node that leaves loses its entries.
// Not thread-safe: one owner (the router) calls it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "engine/kv/block_key.h"

namespace agentrt::cluster {

using NodeId = std::int32_t;

// Where a node holds a block, fastest first.
enum class KvTierKind : std::uint8_t { device = 0, host = 1, persisted = 2 };
inline constexpr int kKvTierCount = 3;

enum class KvEventKind : std::uint8_t { stored, evicted, pinned, unpinned };

// One engine's report: `keys` (chained block keys, any order) were stored in, evicted from,
// pinned or unpinned in `tier` of `node`. Pins count per event: two pinned events need two
// unpinned ones.
struct KvEvent {
  NodeId node = 0;
  KvEventKind kind = KvEventKind::stored;
  KvTierKind tier = KvTierKind::device;
  std::vector<kv::BlockKey> keys;
};

// The longest prefix of a request's blocks that one node holds (in any tier), and how those
// blocks split by the fastest tier holding each.
struct PrefixMatch {
  NodeId node = 0;
  std::int32_t blocks = 0;
  std::int32_t device_blocks = 0;
  std::int32_t host_blocks = 0;
  std::int32_t persisted_blocks = 0;
  std::int32_t pinned_blocks = 0;  // of `blocks`, pinned on the node
};

struct KvIndexOptions {
  std::size_t max_entries = std::size_t{1} << 22;  // (key, node) pairs; at least 8
};

class KvIndex {
 public:
  explicit KvIndex(KvIndexOptions options = {});

  // Applies one event. stored adds the tier for each key; evicted removes it (a key held in
  // no tier leaves the index); pinned / unpinned count a pin up or down on keys the node
  // holds (others are ignored: the stored event that makes them known comes first).
  void apply(const KvEvent& event);
  // Drops every entry of `node`. O(entries).
  void remove_node(NodeId node);
  // The longest prefix of `keys` (a request's chained keys, in order) held by each node
  // holding keys[0], sorted by node id, into `out` (cleared first). Nodes that hold no
  // prefix are absent. O(sum over the matched keys of the nodes still matching there x
  // log holders). Marks the matched keys as used.
  void match(std::span<const kv::BlockKey> keys, std::vector<PrefixMatch>& out);

  std::size_t entries() const { return entries_; }  // (key, node) pairs
  std::size_t keys() const { return map_.size(); }
  std::int64_t dropped_entries() const { return dropped_; }  // by the cap
  // Whether `node` holds `key` in `tier` (tests).
  bool holds(NodeId node, const kv::BlockKey& key, KvTierKind tier) const;

 private:
  struct Holder {
    NodeId node = 0;
    std::uint8_t tiers = 0;  // bit i: KvTierKind i
    std::uint16_t pins = 0;
  };
  struct Entry {
    std::uint64_t stamp = 0;      // last stored or matched
    std::vector<Holder> holders;  // sorted by node
  };
  using Map = std::unordered_map<kv::BlockKey, Entry, kv::BlockKeyHash>;

  void store(NodeId node, const kv::BlockKey& key, std::uint8_t bit);
  void evict(NodeId node, const kv::BlockKey& key, std::uint8_t bit);
  void pin(NodeId node, const kv::BlockKey& key, int delta);
  // Drops the least recently used eighth of the keys.
  void shrink();

  KvIndexOptions opt_;
  Map map_;
  std::size_t entries_ = 0;
  std::uint64_t clock_ = 0;
  std::int64_t dropped_ = 0;
  std::vector<std::uint32_t> alive_, next_;  // match(): indices into `out` still matching
};

}  // namespace agentrt::cluster
