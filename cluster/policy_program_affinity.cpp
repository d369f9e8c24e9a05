#include "cluster/policy_program_affinity.h"

#include <algorithm>
#include <vector>

namespace agentrt::cluster {

ProgramAffinityPolicy::ProgramAffinityPolicy(ProgramAffinityOptions options)
    : opt_(options), placement_(options.placement) {
  opt_.max_programs = std::max<std::size_t>(opt_.max_programs, 8);
}

NodeId ProgramAffinityPolicy::choose(const RouteRequest& request,
                                     std::span<const Candidate> nodes) {
  if (request.program.empty() && !request.resume_of) return placement_.choose(request, nodes);
  std::optional<NodeId> home = request.resume_of;
  auto it = request.program.empty() ? home_.end() : home_.find(request.program);
  if (!home && it != home_.end()) home = it->second.node;
  if (home) {
    double sum = 0;
    const Candidate* at = nullptr;
    for (const Candidate& c : nodes) {
      sum += c.load.active();
      if (c.node == *home) at = &c;
    }
    const double limit =
        opt_.overload_factor * sum / static_cast<double>(nodes.size()) + opt_.overload_slack;
    if (at != nullptr && at->load.active() <= limit) {
      if (it != home_.end()) it->second.stamp = ++clock_;
      return *home;
    }
    if (at != nullptr) ++moved_;
  }
  const NodeId chosen = placement_.choose(request, nodes);
  if (!request.program.empty()) {
    if (it != home_.end()) {
      it->second = Home{chosen, ++clock_};
    } else {
      home_.emplace(request.program, Home{chosen, ++clock_});
      if (home_.size() > opt_.max_programs) shrink();
    }
  }
  return chosen;
}

void ProgramAffinityPolicy::node_left(NodeId node) {
  std::erase_if(home_, [node](const auto& kv) { return kv.second.node == node; });
}

void ProgramAffinityPolicy::program_done(std::string_view program) {
  auto it = home_.find(std::string(program));
  if (it != home_.end()) home_.erase(it);
}

void ProgramAffinityPolicy::shrink() {
  std::vector<std::uint64_t> stamps;
  stamps.reserve(home_.size());
  for (const auto& [name, h] : home_)
    stamps.push_back(h.stamp);
  const std::size_t cut = std::max<std::size_t>(1, stamps.size() / 8);
  std::nth_element(stamps.begin(), stamps.begin() + static_cast<std::ptrdiff_t>(cut - 1),
                   stamps.end());
  const std::uint64_t oldest_kept = stamps[cut - 1];
  std::erase_if(home_, [oldest_kept](const auto& kv) { return kv.second.stamp <= oldest_kept; });
}

}  // namespace agentrt::cluster
