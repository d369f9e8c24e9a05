// ProgramAffinityPolicy (after Autellix's program-level placement): a program's turns stay on
// the node that ran its first turn, so its pinned KV is reused, unless that node is
// overloaded: active(node) > overload_factor * mean active + overload_slack. A resume
// (RouteRequest::resume_of) goes back to that node under the same rule. First turns, moved
// programs and requests without a program are placed by PrefixAwarePolicy. Remembers at most
// max_programs programs, dropping the least recently routed eighth past that.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

#include "cluster/policy.h"
#include "cluster/policy_prefix_aware.h"

namespace agentrt::cluster {

struct ProgramAffinityOptions {
  double overload_factor = 2.0;
  std::int32_t overload_slack = 4;
  std::size_t max_programs = std::size_t{1} << 20;  // at least 8
  PrefixAwareOptions placement;
};

class ProgramAffinityPolicy final : public RoutingPolicy {
 public:
  explicit ProgramAffinityPolicy(ProgramAffinityOptions options = {});
  std::string_view name() const override { return "program_affinity"; }
  bool uses_prefix() const override { return true; }
  NodeId choose(const RouteRequest& request, std::span<const Candidate> nodes) override;
  void node_left(NodeId node) override;
  void program_done(std::string_view program) override;

  std::size_t programs() const { return home_.size(); }
  std::int64_t moved() const { return moved_; }  // turns sent away from an overloaded home

 private:
  struct Home {
    NodeId node = 0;
    std::uint64_t stamp = 0;
  };
  void shrink();

  ProgramAffinityOptions opt_;
  PrefixAwarePolicy placement_;
  std::unordered_map<std::string, Home> home_;
  std::uint64_t clock_ = 0;
  std::int64_t moved_ = 0;
};

}  // namespace agentrt::cluster
