#include "cluster/node_engine.h"

#include <utility>
#include <vector>

#include "cluster/engine_wire.h"
#include "cluster/turn_relay.h"
#include "cluster/wire.h"

namespace agentrt::cluster {
namespace {

using NodeEngineSelf = caf::stateful_actor<NodeEngineState>;
using actors::GenerateReply;

// One subscriber's batches, from the engine's loop to the coordinator's relay, in wire form.
caf::behavior node_relay(caf::event_based_actor* self, caf::actor front, caf::actor remote) {
  auto seen = std::make_shared<bool>(false);
  return {
      [self, front, remote, seen](actors::TokenBatch& b) {
        const bool last = ends_request(b);
        if (!*seen || last) self->send(front, NodeRequestSeen{b.id, last, remote.address()});
        *seen = true;
        self->send(remote, turn_batch_atom::value, to_wire(b));
        if (last) self->quit();
      },
  };
}

WireReply refused(const Error& e) {
  return to_wire(GenerateReply{0, e});
}

// Starts a relay for each of the coordinator's subscribers.
std::vector<caf::actor> open_node_relays(NodeEngineSelf* self,
                                         const std::vector<caf::actor>& remotes) {
  std::vector<caf::actor> out;
  for (const auto& r : remotes) {
    auto local = self->spawn(node_relay, caf::actor_cast<caf::actor>(self), r);
    self->state.relay_of[r.address()] = local;
    out.push_back(std::move(local));
  }
  return out;
}

void close_node_relays(NodeEngineSelf* self, const std::vector<caf::actor>& remotes,
                       const std::vector<caf::actor>& relays) {
  for (const auto& r : remotes)
    self->state.relay_of.erase(r.address());
  for (const auto& r : relays)
    self->send_exit(r, caf::exit_reason::user_shutdown);
}

// Passes a call to the engine; its GenerateReply goes back in wire form.
template <class... Ts>
caf::result<WireReply> to_engine(NodeEngineSelf* self, Ts&&... xs) {
  auto engine = caf::actor_cast<caf::actor>(self->state.engine);
  if (!engine) return refused(Error{ErrorCode::cancelled, "the node's engine has stopped"});
  auto rp = self->make_response_promise<WireReply>();
  self->request(engine, caf::infinite, std::forward<Ts>(xs)...)
      .then([rp](GenerateReply& r) mutable { rp.deliver(to_wire(r)); },
            [self, rp](caf::error& e) mutable {
              rp.deliver(refused(
                  Error{ErrorCode::internal, "the node's engine: " + self->system().render(e)}));
            });
  return rp;
}

// A request's start (generate, fork): relays open first, closed again if it is refused.
template <class... Ts>
caf::result<WireReply> start(NodeEngineSelf* self, std::vector<caf::actor> remotes,
                             std::vector<caf::actor> relays, Ts&&... xs) {
  auto engine = caf::actor_cast<caf::actor>(self->state.engine);
  if (!engine) {
    close_node_relays(self, remotes, relays);
    return refused(Error{ErrorCode::cancelled, "the node's engine has stopped"});
  }
  auto rp = self->make_response_promise<WireReply>();
  self->request(engine, caf::infinite, std::forward<Ts>(xs)...)
      .then(
          [self, rp, remotes, relays](GenerateReply& r) mutable {
            if (r.error)
              close_node_relays(self, remotes, relays);
            else if (r.id != 0)
              self->state.live->insert(r.id);
            rp.deliver(to_wire(r));
          },
          [self, rp, remotes, relays](caf::error& e) mutable {
            close_node_relays(self, remotes, relays);
            rp.deliver(refused(
                Error{ErrorCode::internal, "the node's engine: " + self->system().render(e)}));
          });
  return rp;
}

Status check_ttl(std::int64_t ttl_ns) {
  if (ttl_ns < 0)
    return make_error(ErrorCode::invalid_argument,
                      "pin TTL of " + std::to_string(ttl_ns) + " ns: must be >= 0");
  return ok_status();
}

}  // namespace

caf::behavior node_engine(NodeEngineSelf* self, caf::actor owner, caf::actor engine,
                          std::shared_ptr<const SchemaConstraints> schemas) {
  self->set_default_handler(caf::drop);
  self->monitor(owner);
  self->set_down_handler([self](caf::down_msg&) { self->quit(); });
  auto& state = self->state;
  state.engine = engine.address();
  state.schemas = std::move(schemas);
  state.live = std::make_shared<std::set<RequestId>>();
  // The coordinator is gone: what it started here would stay paused until its pins expire.
  self->attach_functor([weak = state.engine, live = state.live](const caf::error&) {
    if (auto e = caf::actor_cast<caf::actor>(weak))
      for (RequestId id : *live)
        caf::anon_send(e, actors::cancel_atom::value, id);
  });
  return {
      [self](turn_generate_atom, WireGenerate& w) -> caf::result<WireReply> {
        auto m = from_wire(std::move(w), *self->state.schemas);
        if (!m.ok()) return refused(m.error());
        auto remotes = std::move(m->subscribers);
        auto relays = open_node_relays(self, remotes);
        m->subscribers = relays;
        return start(self, std::move(remotes), std::move(relays), actors::generate_atom::value,
                     std::move(*m));
      },
      [self](turn_resume_atom, WireResume& w) -> caf::result<WireReply> {
        auto m = from_wire(std::move(w), *self->state.schemas);
        if (!m.ok()) return refused(m.error());
        return to_engine(self, actors::resume_atom::value, std::move(*m));
      },
      [self](turn_pause_atom, RequestId id, std::int64_t ttl_ns) -> caf::result<WireReply> {
        if (auto s = check_ttl(ttl_ns); !s.ok()) return refused(s.error());
        return to_engine(self, actors::pause_atom::value, id, ttl_ns);
      },
      [self](turn_repin_atom, RequestId id, std::int64_t ttl_ns) -> caf::result<WireReply> {
        if (auto s = check_ttl(ttl_ns); !s.ok()) return refused(s.error());
        return to_engine(self, actors::repin_atom::value, id, ttl_ns);
      },
      [self](turn_fork_atom, RequestId parent, caf::actor& remote) -> caf::result<WireReply> {
        if (!remote)
          return refused(Error{ErrorCode::invalid_argument, "fork: the subscriber is null"});
        std::vector<caf::actor> remotes{remote};
        auto relays = open_node_relays(self, remotes);
        auto relay = relays[0];
        return start(self, std::move(remotes), std::move(relays), actors::fork_atom::value, parent,
                     std::move(relay));
      },
      [self](turn_cancel_atom, RequestId id) {
        if (auto e = caf::actor_cast<caf::actor>(self->state.engine))
          self->send(e, actors::cancel_atom::value, id);
      },
      [self](turn_cancel_atom, const caf::actor& remote) {
        auto& st = self->state;
        if (!remote) return;
        auto it = st.relay_of.find(remote.address());
        auto e = caf::actor_cast<caf::actor>(st.engine);
        if (it != st.relay_of.end() && e) self->send(e, actors::cancel_atom::value, it->second);
      },
      [self](const NodeRequestSeen& s) {
        auto& st = self->state;
        if (s.ended) {
          st.live->erase(s.id);
          st.relay_of.erase(s.remote);
        } else {
          st.live->insert(s.id);
        }
      },
  };
}

}  // namespace agentrt::cluster
