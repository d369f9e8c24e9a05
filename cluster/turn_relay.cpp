#include "cluster/turn_relay.h"

#include "cluster/engine_wire.h"
#include "cluster/turn_front.h"
#include "cluster/wire.h"

namespace agentrt::cluster {

bool ends_request(const actors::TokenBatch& b) {
  return b.error || b.cancelled || (b.finish && !b.paused_at_eos);
}

namespace {

void pass(caf::stateful_actor<TurnRelayState>* self, actors::TokenBatch b) {
  if (auto s = caf::actor_cast<caf::actor>(self->state.subscriber)) self->send(s, std::move(b));
}

}  // namespace

caf::behavior turn_relay(caf::stateful_actor<TurnRelayState>* self, caf::actor front,
                         caf::actor_addr subscriber, NodeId node) {
  self->set_default_handler(caf::drop);
  self->state.front = std::move(front);
  self->state.subscriber = std::move(subscriber);
  self->state.node = node;
  return {
      [self](turn_batch_atom, WireTokenBatch& w) {
        auto& st = self->state;
        auto b = from_wire(std::move(w));
        if (!b.ok()) {  // the worker sent something malformed: the request is lost to us
          actors::TokenBatch e;
          e.id = st.id;
          e.error = b.error().with_context("cluster: node " + std::to_string(st.node));
          pass(self, std::move(e));
        } else {
          b->id = turn_id(st.node, b->id);
          st.id = b->id;
          const bool last = ends_request(*b);
          pass(self, std::move(*b));
          if (!last) return;
        }
        self->send(st.front, TurnRelayDone{st.node, caf::actor_cast<caf::actor>(self)});
        self->quit();
      },
      [self](const TurnNodeDown& d) {
        auto& st = self->state;
        actors::TokenBatch e;
        e.id = st.id;
        e.error = Error{ErrorCode::internal, "cluster: node " + std::to_string(d.node) + " '" +
                                                 d.name + "' holding the request was lost"};
        pass(self, std::move(e));
        self->quit();
      },
  };
}

}  // namespace agentrt::cluster
