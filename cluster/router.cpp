#include "cluster/router.h"

#include <algorithm>
#include <cassert>

namespace agentrt::cluster {

Router::Router(std::unique_ptr<RoutingPolicy> policy, RouterOptions options)
    : opt_(options), policy_(std::move(policy)), index_(options.index) {
  assert(policy_ != nullptr);
}

Status Router::join(NodeId node, NodeInfo info) {
  if (node < 0)
    return make_error(ErrorCode::invalid_argument,
                      "router: node id " + std::to_string(node) + " is negative");
  if (nodes_.count(node) != 0)
    return make_error(ErrorCode::invalid_argument,
                      "router: node " + std::to_string(node) + " is live already");
  nodes_.emplace(node, Node{std::move(info), NodeLoad{}, {}});
  return ok_status();
}

Status Router::leave(NodeId node) {
  if (nodes_.erase(node) == 0)
    return make_error(ErrorCode::not_found,
                      "router: node " + std::to_string(node) + " is not live");
  index_.remove_node(node);
  policy_->node_left(node);
  return ok_status();
}

Status Router::report_load(NodeId node, const NodeLoad& load) {
  auto it = nodes_.find(node);
  if (it == nodes_.end())
    return make_error(ErrorCode::not_found,
                      "router: load from node " + std::to_string(node) + ", which is not live");
  it->second.load = load;
  if (opt_.routed_grace.count() > 0) {
    auto& recent = it->second.recent;
    const auto since = now() - opt_.routed_grace;
    while (!recent.empty() && recent.front().at < since)
      recent.pop_front();
    for (const Routed& r : recent) {
      it->second.load.waiting += 1;
      it->second.load.pending_tokens += r.tokens;
    }
  }
  return ok_status();
}

std::chrono::steady_clock::time_point Router::now() const {
  return opt_.now ? opt_.now() : std::chrono::steady_clock::now();
}

Status Router::apply(const KvEvent& event) {
  if (nodes_.count(event.node) == 0) {
    ++stats_.dropped_events;
    return make_error(ErrorCode::not_found, "router: KV event from node " +
                                                std::to_string(event.node) + ", which is not live");
  }
  ++stats_.events;
  index_.apply(event);
  return ok_status();
}

Status Router::clear(NodeId node) {
  if (nodes_.count(node) == 0)
    return make_error(ErrorCode::not_found,
                      "router: node " + std::to_string(node) + " is not live");
  index_.remove_node(node);
  return ok_status();
}

void Router::program_done(std::string_view program) {
  policy_->program_done(program);
}

Result<NodeId> Router::route(const RouteRequest& request) {
  Result<RouteDecision> d = decide(request);
  if (!d.ok()) return d.error();
  return d->node;
}

Result<RouteDecision> Router::decide(const RouteRequest& request) {
  if (nodes_.empty()) return make_error(ErrorCode::not_found, "router: no live node");
  matches_.clear();
  if (policy_->uses_prefix()) index_.match(request.blocks, matches_);
  candidates_.clear();
  candidates_.reserve(nodes_.size());
  std::size_t m = 0;
  for (const auto& [id, node] : nodes_) {
    Candidate c{id, node.load, PrefixMatch{id}};
    while (m < matches_.size() && matches_[m].node < id)
      ++m;
    if (m < matches_.size() && matches_[m].node == id) c.match = matches_[m];
    candidates_.push_back(c);
  }
  const NodeId chosen = policy_->choose(request, candidates_);
  auto it = nodes_.find(chosen);
  assert(it != nodes_.end() && "a policy chose a node that is not live");
  if (it == nodes_.end())
    return make_error(ErrorCode::internal, "router: policy chose a dead node");
  RouteDecision d{chosen, PrefixMatch{chosen}};
  for (const Candidate& c : candidates_)
    if (c.node == chosen) d.match = c.match;
  if (opt_.count_routed) {
    const std::int64_t tokens =
        request.prompt_tokens > 0
            ? request.prompt_tokens
            : static_cast<std::int64_t>(request.blocks.size()) * opt_.block_size;
    const std::int64_t uncached =
        std::max<std::int64_t>(0, tokens - std::int64_t{d.match.blocks} * opt_.block_size);
    it->second.load.waiting += 1;
    it->second.load.pending_tokens += uncached;
    if (opt_.routed_grace.count() > 0) {
      auto& recent = it->second.recent;
      if (recent.size() == kMaxRecent) recent.pop_front();
      recent.push_back({now(), uncached});
    }
  }
  ++stats_.routed;
  return d;
}

std::vector<NodeId> Router::live_nodes() const {
  std::vector<NodeId> out;
  out.reserve(nodes_.size());
  for (const auto& [id, node] : nodes_)
    out.push_back(id);
  return out;
}

bool Router::live(NodeId node) const {
  return nodes_.count(node) != 0;
}

Result<NodeLoad> Router::load(NodeId node) const {
  auto it = nodes_.find(node);
  if (it == nodes_.end())
    return make_error(ErrorCode::not_found,
                      "router: node " + std::to_string(node) + " is not live");
  return it->second.load;
}

}  // namespace agentrt::cluster
