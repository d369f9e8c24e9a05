// LeastLoadedPolicy: the node with the fewest active sequences (running + waiting), then the
// fewest pending prompt tokens, then the lowest id; ignores the cache.
#pragma once

#include "cluster/policy.h"

namespace agentrt::cluster {

class LeastLoadedPolicy final : public RoutingPolicy {
 public:
  std::string_view name() const override { return "least_loaded"; }
  NodeId choose(const RouteRequest& request, std::span<const Candidate> nodes) override;
};

// Whether a is less loaded than b by LeastLoadedPolicy's order (ids not compared).
bool less_loaded(const NodeLoad& a, const NodeLoad& b);

}  // namespace agentrt::cluster
