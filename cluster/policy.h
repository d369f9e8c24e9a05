// RoutingPolicy: how the router picks a node for one request, given every live node's load
// and cached prefix. Policies: round_robin, least_loaded, prefix_aware and program_affinity
// (cluster/policy_*.h); make_policy() builds one by name.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/kv_index.h"
#include "engine/common/result.h"

namespace agentrt::cluster {

// A node's load as it last reported it (plus the requests routed to it since, see Router).
struct NodeLoad {
  std::int32_t running = 0;         // sequences in the engine's batch
  std::int32_t waiting = 0;         // sequences queued for admission
  std::int64_t pending_tokens = 0;  // prompt tokens still to prefill; 0 if not reported
  std::int64_t free_blocks = -1;    // device KV blocks free or evictable; -1 if not reported
  std::int32_t active() const { return running + waiting; }
};

// One routing question. `blocks` are the chained keys of the prompt's full blocks, in order
// (the same keys the engines report in their KV events).
struct RouteRequest {
  std::vector<kv::BlockKey> blocks;
  std::string program;              // program / agent id; empty: none
  std::optional<NodeId> resume_of;  // the node a paused program ran on, when resuming
  std::int64_t prompt_tokens = 0;   // 0: blocks x block size is assumed
};

// One live node as a policy sees it. match.blocks is 0 when the node holds no prefix or the
// policy does not use prefixes.
struct Candidate {
  NodeId node = 0;
  NodeLoad load;
  PrefixMatch match;
};

class RoutingPolicy {
 public:
  virtual ~RoutingPolicy() = default;
  virtual std::string_view name() const = 0;
  // Whether choose() reads Candidate::match; if not, the router skips the index walk.
  virtual bool uses_prefix() const { return false; }
  // Picks one of `nodes` (live, non-empty, sorted by id) for `request`; returns its id.
  // The one method that changes the policy's routing state.
  virtual NodeId choose(const RouteRequest& request, std::span<const Candidate> nodes) = 0;
  // `node` left the cluster: forget state that refers to it.
  virtual void node_left(NodeId /*node*/) {}
  // `program` finished: forget its state.
  virtual void program_done(std::string_view /*program*/) {}
};

// "round_robin", "least_loaded", "prefix_aware" or "program_affinity" with default options.
// Errors: invalid_argument for another name.
Result<std::unique_ptr<RoutingPolicy>> make_policy(std::string_view name);
// The names make_policy() accepts.
std::vector<std::string> policy_names();

}  // namespace agentrt::cluster
