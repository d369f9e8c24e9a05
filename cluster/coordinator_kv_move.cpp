// The coordinator actor's side of a session's KV following its turn to another node for load
// (coordinator_actor.h, move_session_kv): the old node ships the session's blocks through
// on_kv_ship (coordinator_drain.cpp), as a draining node does, and the turn waits, bounded.
#include <spdlog/spdlog.h>

#include <utility>

#include "cluster/coordinator_actor.h"
#include "cluster/kv_shipping.h"

namespace agentrt::cluster {
namespace {

// Past this many sessions the table starts over: a moved session then recomputes.
constexpr std::size_t kMaxSessionNodes = std::size_t{1} << 16;

}  // namespace

bool move_session_kv(CoordinatorSelf* self, const ClusterCompletion& c, const RouteDecision& d,
                     std::function<void()> then) {
  auto& st = self->state;
  if (c.program.empty()) return false;
  auto at = st.session_nodes.find(c.program);
  if (at == st.session_nodes.end()) {  // its first turn here: nothing to move
    if (st.session_nodes.size() >= kMaxSessionNodes) st.session_nodes.clear();
    st.session_nodes.emplace(c.program, d.node);
    return false;
  }
  const NodeId from = std::exchange(at->second, d.node);
  if (from == d.node || !st.router->live(from)) return false;  // it stays, or its node died
  if (st.router->policy().name() != "program_affinity") return false;
  const std::int64_t prompt_blocks =
      c.blocks.empty() ? c.prompt_tokens / 16 : static_cast<std::int64_t>(c.blocks.size());
  if (prompt_blocks < std::int64_t{d.match.blocks} + kMoveMinBlocks) return false;
  auto old = st.nodes.find(from);
  auto target = st.nodes.find(d.node);
  if (old == st.nodes.end() || target == st.nodes.end()) return false;  // not a worker
  const auto& to = target->second;
  spdlog::info(
      "cluster: a session's turn moves off node {} '{}' for load to node {} '{}'; its KV "
      "follows ({} prompt blocks, {} cached there)",
      old->second.id, old->second.name, to.id, to.name, prompt_blocks, d.match.blocks);
  st.shipping.insert_or_assign(c.program, d.node);  // on_kv_ship forwards the batches there
  const auto start = std::chrono::steady_clock::now();
  auto waited = [start] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 start)
        .count();
  };
  // The turn goes once the shipment is over, either way; a stale forward entry goes with it.
  auto settle = [self, then, session = c.program, to_node = d.node] {
    auto& shipping = self->state.shipping;
    if (auto it = shipping.find(session); it != shipping.end() && it->second == to_node)
      shipping.erase(it);
    then();
  };
  self->request(old->second.handle, kMoveWait, kv_move_atom::value,
                KvMoveCall{c.program, kMoveMinBlocks})
      .then(
          [settle, waited](std::int32_t blocks) {
            spdlog::info("cluster: {} KV blocks of the moved session landed in {} ms", blocks,
                         waited());
            settle();
          },
          [self, settle, waited](caf::error& e) {
            spdlog::warn(
                "cluster: the moved session's KV did not land ({} after {} ms); its turn "
                "recomputes",
                self->system().render(e), waited());
            settle();
          });
  return true;
}

void forget_session_nodes(CoordinatorState& state, NodeId node) {
  std::erase_if(state.session_nodes, [node](const auto& kv) { return kv.second == node; });
}

}  // namespace agentrt::cluster
