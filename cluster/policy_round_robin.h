// RoundRobinPolicy: live nodes in turn, by id; ignores load and cache. The baseline.
#pragma once

#include "cluster/policy.h"

namespace agentrt::cluster {

class RoundRobinPolicy final : public RoutingPolicy {
 public:
  std::string_view name() const override { return "round_robin"; }
  // The first live node with an id above the last chosen one, wrapping to the lowest.
  NodeId choose(const RouteRequest& request, std::span<const Candidate> nodes) override;

 private:
  std::optional<NodeId> last_;
};

}  // namespace agentrt::cluster
