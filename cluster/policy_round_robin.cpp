#include "cluster/policy_round_robin.h"

namespace agentrt::cluster {

NodeId RoundRobinPolicy::choose(const RouteRequest& /*request*/, std::span<const Candidate> nodes) {
  NodeId chosen = nodes.front().node;
  if (last_) {
    for (const Candidate& c : nodes) {
      if (c.node > *last_) {
        chosen = c.node;
        break;
      }
    }
  }
  last_ = chosen;
  return chosen;
}

}  // namespace agentrt::cluster
