// Router: the coordinator's routing state. Nodes join, report their load and stream KV events
// (block keys stored, evicted, pinned, unpinned per tier) into a KvIndex; route() asks the
// RoutingPolicy for the node of one request (an agent turn, a sample, a chat completion).
// A node that left is never chosen. Not thread-safe: one owner (the coordinator actor) calls
// every method.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cluster/kv_index.h"
#include "cluster/policy.h"
#include "engine/common/result.h"

namespace agentrt::cluster {

struct NodeInfo {
  std::string name;                  // for messages, e.g. "host:port"
  std::int64_t capacity_blocks = 0;  // device KV blocks; 0 if unknown
};

struct RouterOptions {
  KvIndexOptions index;
  int block_size = 16;  // tokens per block, for RouteRequest::prompt_tokens == 0
  // Count each routed request on its node (waiting + 1, pending_tokens + its uncached
  // tokens) until the node's next load report replaces the figures, so a burst of routes
  // between two reports does not all land on one node.
  bool count_routed = true;
  // With count_routed: the requests routed to a node less than this long before its load
  // report are counted again on top of the report, which may have left the node before they
  // arrived (a report landing inside a burst made the rest of the burst pile onto that
  // node). They may be counted twice for that long. Zero: a report replaces the counts.
  // The coordinator uses two heartbeats; simulations keep 0 (they have their own clock).
  std::chrono::milliseconds routed_grace{0};
  // The clock of routed_grace; empty: std::chrono::steady_clock::now.
  std::function<std::chrono::steady_clock::time_point()> now;
};

// What route() decided, with the chosen node's cached prefix.
struct RouteDecision {
  NodeId node = 0;
  PrefixMatch match;  // of `node`; zero when the policy does not use prefixes
};

struct RouterStats {
  std::int64_t routed = 0;
  std::int64_t events = 0;          // KV events applied
  std::int64_t dropped_events = 0;  // for unknown or departed nodes
};

class Router {
 public:
  // `policy` must not be null.
  explicit Router(std::unique_ptr<RoutingPolicy> policy, RouterOptions options = {});

  // Adds a live node with an empty index and zero load. A node that left may join again.
  // Errors: invalid_argument when `node` is live already or negative.
  Status join(NodeId node, NodeInfo info);
  // Removes a live node: its index entries go, the policy forgets it, and it is never
  // chosen again unless it joins again. Errors: not_found when `node` is not live.
  Status leave(NodeId node);
  // Replaces the node's load. Errors: not_found when `node` is not live.
  Status report_load(NodeId node, const NodeLoad& load);
  // Applies a KV event to the index. Errors: not_found when event.node is not live (the
  // event is dropped and counted).
  Status apply(const KvEvent& event);
  // Drops the node's index entries: it lost KV events (its backlog overflowed), and its
  // next ones rebuild them. Errors: not_found when `node` is not live.
  Status clear(NodeId node);
  // The program finished: policies drop its affinity.
  void program_done(std::string_view program);

  // The live node for `request`. Errors: not_found when no node is live.
  Result<NodeId> route(const RouteRequest& request);
  // route(), with the chosen node's cached prefix.
  Result<RouteDecision> decide(const RouteRequest& request);

  std::vector<NodeId> live_nodes() const;  // sorted
  bool live(NodeId node) const;
  // The node's load as the router sees it. Errors: not_found when not live.
  Result<NodeLoad> load(NodeId node) const;
  const KvIndex& index() const { return index_; }
  const RoutingPolicy& policy() const { return *policy_; }
  RouterStats stats() const { return stats_; }

 private:
  struct Routed {
    std::chrono::steady_clock::time_point at;
    std::int64_t tokens = 0;  // uncached prompt tokens
  };
  struct Node {
    NodeInfo info;
    NodeLoad load;
    std::deque<Routed> recent;  // routed within routed_grace, at most kMaxRecent
  };
  static constexpr std::size_t kMaxRecent = 4096;
  std::chrono::steady_clock::time_point now() const;

  RouterOptions opt_;
  std::unique_ptr<RoutingPolicy> policy_;
  KvIndex index_;
  std::map<NodeId, Node> nodes_;  // live nodes only
  RouterStats stats_;
  // Scratch reused across route() calls.
  std::vector<PrefixMatch> matches_;
  std::vector<Candidate> candidates_;
};

}  // namespace agentrt::cluster
