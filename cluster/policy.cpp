#include "cluster/policy.h"

#include "cluster/policy_least_loaded.h"
#include "cluster/policy_prefix_aware.h"
#include "cluster/policy_program_affinity.h"
#include "cluster/policy_round_robin.h"

namespace agentrt::cluster {

Result<std::unique_ptr<RoutingPolicy>> make_policy(std::string_view name) {
  std::unique_ptr<RoutingPolicy> p;
  if (name == "round_robin") p = std::make_unique<RoundRobinPolicy>();
  if (name == "least_loaded") p = std::make_unique<LeastLoadedPolicy>();
  if (name == "prefix_aware") p = std::make_unique<PrefixAwarePolicy>();
  if (name == "program_affinity") p = std::make_unique<ProgramAffinityPolicy>();
  if (!p)
    return make_error(ErrorCode::invalid_argument,
                      "routing policy '" + std::string(name) +
                          "': expected round_robin, least_loaded, prefix_aware or "
                          "program_affinity");
  return p;
}

std::vector<std::string> policy_names() {
  return {"round_robin", "least_loaded", "prefix_aware", "program_affinity"};
}

}  // namespace agentrt::cluster
