#include "cluster/policy_least_loaded.h"

namespace agentrt::cluster {

bool less_loaded(const NodeLoad& a, const NodeLoad& b) {
  if (a.active() != b.active()) return a.active() < b.active();
  return a.pending_tokens < b.pending_tokens;
}

NodeId LeastLoadedPolicy::choose(const RouteRequest& /*request*/,
                                 std::span<const Candidate> nodes) {
  const Candidate* best = &nodes.front();
  for (const Candidate& c : nodes)
    if (less_loaded(c.load, best->load)) best = &c;  // strict: the lowest id wins ties
  return best->node;
}

}  // namespace agentrt::cluster
