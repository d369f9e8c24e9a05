// The coordinator actor's side of a session's KV following its turn to another node for load
// (coordinator_actor.h, move_session_kv): the old node ships the session's blocks through
// on_kv_ship (coordinator_drain.cpp), as a draining node does, and the turn waits, bounded.
#include <spdlog/spdlog.h>

#include <utility>

#include "cluster/coordinator_actor.h"
#include "cluster/kv_shipping.h"

namespace agentrt::cluster {
namespace {

// Milliseconds since `start`, for the log.
std::int64_t since_ms(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start)
      .count();
}

// Past this many sessions the table starts over: a moved session then recomputes.
constexpr std::size_t kMaxSessionNodes = std::size_t{1} << 16;

}  // namespace

namespace {

// The session's last node died with an on-disk store: its new node `d.node` copies the turn's
// prompt blocks out of that store, bounded by kMoveWait like a move for load.
bool adopt_session_kv(CoordinatorSelf* self, const ClusterCompletion& c, const RouteDecision& d,
                      const std::function<void()>& then) {
  auto& st = self->state;
  auto orphan = st.orphan_stores.find(c.program);
  if (orphan == st.orphan_stores.end()) return false;
  const std::string store = std::move(orphan->second);
  st.orphan_stores.erase(orphan);
  auto target = st.nodes.find(d.node);
  if (target == st.nodes.end()) return false;          // the server's engine: it recomputes
  if (target->second.kv_store == store) return false;  // the dead node, back on its store
  if (static_cast<std::int64_t>(c.blocks.size()) < std::int64_t{d.match.blocks} + kMoveMinBlocks)
    return false;
  KvAdoptCall call;
  call.session = c.program;
  call.store = store;
  call.keys.reserve(2 * c.blocks.size());
  for (const auto& k : c.blocks) {
    call.keys.push_back(k.hi);
    call.keys.push_back(k.lo);
  }
  spdlog::info(
      "cluster: a session whose node died goes to node {} '{}', which adopts its KV from {} "
      "({} prompt blocks, {} cached there)",
      target->second.id, target->second.name, store, c.blocks.size(), d.match.blocks);
  const auto start = std::chrono::steady_clock::now();
  auto waited = [start] { return since_ms(start); };
  self->request(target->second.handle, kMoveWait, kv_adopt_atom::value, std::move(call))
      .then(
          [then, waited](std::int32_t blocks) {
            spdlog::info("cluster: {} KV blocks of the dead node's session adopted in {} ms",
                         blocks, waited());
            then();
          },
          [self, then, waited](caf::error& e) {
            spdlog::warn(
                "cluster: the dead node's session KV was not adopted ({} after {} ms); its turn "
                "recomputes",
                self->system().render(e), waited());
            then();
          });
  return true;
}

}  // namespace

bool move_session_kv(CoordinatorSelf* self, const ClusterCompletion& c, const RouteDecision& d,
                     std::function<void()> then) {
  auto& st = self->state;
  if (c.program.empty()) return false;
  auto at = st.session_nodes.find(c.program);
  if (at == st.session_nodes.end()) {  // its first turn here, or its node died
    if (st.session_nodes.size() >= kMaxSessionNodes) st.session_nodes.clear();
    st.session_nodes.emplace(c.program, d.node);
    return adopt_session_kv(self, c, d, then);
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
  auto waited = [start] { return since_ms(start); };
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

void forget_session_nodes(CoordinatorState& state, NodeId node, const std::string& kv_store) {
  for (auto it = state.session_nodes.begin(); it != state.session_nodes.end();) {
    if (it->second != node) {
      ++it;
      continue;
    }
    if (!kv_store.empty()) {
      if (state.orphan_stores.size() >= kMaxSessionNodes) state.orphan_stores.clear();
      state.orphan_stores.insert_or_assign(it->first, kv_store);
    }
    it = state.session_nodes.erase(it);
  }
}

}  // namespace agentrt::cluster
