// The coordinator actor's side of a node that leaves gracefully (coordinator_actor.h): it is
// routed nothing new, and the KV of its paused sessions goes to the nodes that take the
// sessions over (kv_shipping.h), batch by batch, each acknowledged by the receiver.
#include <spdlog/spdlog.h>

#include "cluster/coordinator_actor.h"
#include "cluster/kv_shipping.h"

namespace agentrt::cluster {
namespace {

constexpr auto kShipTimeout = std::chrono::seconds(30);

MemberNode* sender_member(CoordinatorSelf* self) {
  auto& st = self->state;
  auto it = st.by_addr.find(caf::actor_cast<caf::actor_addr>(self->current_sender()));
  if (it == st.by_addr.end()) return nullptr;
  auto n = st.nodes.find(it->second);
  return n == st.nodes.end() ? nullptr : &n->second;
}

}  // namespace

bool on_drain(CoordinatorSelf* self) {
  auto* n = sender_member(self);
  if (n == nullptr) return false;
  // It stays a member (its jobs and replies still count) until its connection drops.
  self->state.router->leave(n->id).permit_unchecked();  // not_found: drained already
  spdlog::info("cluster: node {} '{}' drains: nothing new is routed to it", n->id, n->name);
  return true;
}

caf::result<std::int32_t> on_kv_ship(CoordinatorSelf* self, KvShipment& s) {
  auto& st = self->state;
  auto* from = sender_member(self);
  if (from == nullptr) return caf::make_error(caf::sec::runtime_error, "not a member");
  // The session's new home: the node its program routes to now that its old one left.
  auto home = st.shipping.find(s.session);
  if (home == st.shipping.end() || !st.router->live(home->second)) {
    RouteRequest req;
    req.program = s.session;
    req.prompt_tokens = static_cast<std::int64_t>(s.tokens.size());
    auto node = st.router->route(req);
    if (!node.ok()) return caf::make_error(caf::sec::runtime_error, "no live node takes the KV");
    home = st.shipping.insert_or_assign(s.session, *node).first;
  }
  const NodeId target = home->second;
  if (target == kLocalNode)  // the server's own engine: the session recomputes there
    return caf::make_error(caf::sec::runtime_error, "the server's engine takes no shipped KV");
  if (target == from->id) return caf::make_error(caf::sec::runtime_error, "the node drains");
  auto& to = st.nodes.at(target);
  if (s.first_block == 0)
    spdlog::info("cluster: KV of a session moves from node {} '{}' to node {} '{}'", from->id,
                 from->name, to.id, to.name);
  if (s.last) st.shipping.erase(s.session);
  // The receiver holds the blocks in its snapshot tier: the index says so at once.
  KvEvent stored;
  stored.node = target;
  stored.tier = KvTierKind::persisted;
  const auto keys = chain_keys(s.tokens, s.block_size, s.fingerprint,
                               static_cast<std::size_t>(s.first_block) + s.blocks.size());
  stored.keys.assign(keys.begin() + std::min<std::ptrdiff_t>(s.first_block, std::ssize(keys)),
                     keys.end());
  auto rp = self->make_response_promise<std::int32_t>();
  self->request(to.handle, kShipTimeout, kv_ship_atom::value, std::move(s))
      .then(
          [self, rp, stored](std::int32_t n) mutable {
            self->state.router->apply(stored).permit_unchecked();  // it may have left since
            rp.deliver(n);
          },
          [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
  return rp;
}

}  // namespace agentrt::cluster
