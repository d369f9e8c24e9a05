// PrefixAwarePolicy: the node with the longest cached prefix of the request, weighed against
// its load (after SGLang's cache-aware router). Each live node n gets
//
//   hit(n)   = (device(n) + host_weight * host(n) + persisted_weight * persisted(n))
//              / max(1, request blocks)
//   score(n) = hit(n) - load_weight * active(n) / (mean active + 1)
//
// where device/host/persisted count n's longest cached prefix by the fastest tier holding
// each block and active is running + waiting. The highest score wins; ties go to the longer
// prefix, then the less loaded node (LeastLoadedPolicy's order), then the lowest id.
// Guard (SGLang's balance thresholds): when max active - min active > balance_abs and
// max active > balance_rel * min active, the cache is ignored and the least loaded node wins
// (the longer prefix, then the lowest id, breaking ties).
#pragma once

#include "cluster/policy.h"

namespace agentrt::cluster {

struct PrefixAwareOptions {
  double host_weight = 0.8;       // a host-tier block against a device block
  double persisted_weight = 0.5;  // a persisted (store) block against a device block
  double load_weight = 0.5;
  std::int32_t balance_abs = 32;
  double balance_rel = 1.5;
};

class PrefixAwarePolicy final : public RoutingPolicy {
 public:
  explicit PrefixAwarePolicy(PrefixAwareOptions options = {}) : opt_(options) {}
  std::string_view name() const override { return "prefix_aware"; }
  bool uses_prefix() const override { return true; }
  NodeId choose(const RouteRequest& request, std::span<const Candidate> nodes) override;
  // score(n) above, for `request` among `nodes` (tests, reports).
  double score(const RouteRequest& request, const Candidate& node,
               std::span<const Candidate> nodes) const;

 private:
  PrefixAwareOptions opt_;
};

}  // namespace agentrt::cluster
