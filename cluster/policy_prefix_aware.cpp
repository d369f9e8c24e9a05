#include "cluster/policy_prefix_aware.h"

#include <algorithm>

#include "cluster/policy_least_loaded.h"

namespace agentrt::cluster {
namespace {

double mean_active(std::span<const Candidate> nodes) {
  double sum = 0;
  for (const Candidate& c : nodes)
    sum += c.load.active();
  return sum / static_cast<double>(nodes.size());
}

double score_at(const PrefixAwareOptions& o, const RouteRequest& request, const Candidate& c,
                double mean) {
  const double blocks = std::max<double>(1.0, static_cast<double>(request.blocks.size()));
  const PrefixMatch& m = c.match;
  const double hit =
      (m.device_blocks + o.host_weight * m.host_blocks + o.persisted_weight * m.persisted_blocks) /
      blocks;
  return hit - o.load_weight * c.load.active() / (mean + 1.0);
}

}  // namespace

double PrefixAwarePolicy::score(const RouteRequest& request, const Candidate& node,
                                std::span<const Candidate> nodes) const {
  return score_at(opt_, request, node, mean_active(nodes));
}

NodeId PrefixAwarePolicy::choose(const RouteRequest& request, std::span<const Candidate> nodes) {
  std::int32_t lo = nodes.front().load.active(), hi = lo;
  for (const Candidate& c : nodes) {
    lo = std::min(lo, c.load.active());
    hi = std::max(hi, c.load.active());
  }
  const bool imbalanced = hi - lo > opt_.balance_abs && hi > opt_.balance_rel * lo;
  const double mean = mean_active(nodes);
  auto score_of = [&](const Candidate& c) { return score_at(opt_, request, c, mean); };
  const Candidate* best = &nodes.front();
  double best_score = imbalanced ? 0.0 : score_of(*best);
  for (const Candidate& c : nodes.subspan(1)) {
    if (imbalanced) {
      if (less_loaded(c.load, best->load) ||
          (!less_loaded(best->load, c.load) && c.match.blocks > best->match.blocks))
        best = &c;
      continue;
    }
    const double s = score_of(c);
    bool better = s > best_score + 1e-12;
    if (!better && s >= best_score - 1e-12) {  // a tie
      if (c.match.blocks != best->match.blocks)
        better = c.match.blocks > best->match.blocks;
      else
        better = less_loaded(c.load, best->load);
    }
    if (better) {
      best = &c;
      best_score = s;
    }
  }
  return best->node;
}

}  // namespace agentrt::cluster
