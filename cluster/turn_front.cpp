#include "cluster/turn_front.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <utility>
#include <vector>

#include "actors/engine_actor.h"
#include "cluster/engine_wire.h"
#include "cluster/job_prefix.h"
#include "cluster/turn_relay.h"
#include "cluster/wire.h"
#include "engine/sampling/sampling_params.h"

namespace agentrt::cluster {

RequestId turn_id(NodeId node, RequestId local) {
  return static_cast<RequestId>((static_cast<std::uint64_t>(node) << kTurnIdShift) |
                                static_cast<std::uint64_t>(local));
}

NodeId turn_node(RequestId id) {
  return static_cast<NodeId>(static_cast<std::uint64_t>(id) >> kTurnIdShift);
}

RequestId turn_local(RequestId id) {
  return static_cast<RequestId>(static_cast<std::uint64_t>(id) &
                                ((std::uint64_t{1} << kTurnIdShift) - 1));
}

TurnFrontState::~TurnFrontState() {
  for (const auto& [node, open] : relays)
    for (const auto& r : open)
      caf::anon_send_exit(r, caf::exit_reason::user_shutdown);
}

namespace {

using FrontSelf = caf::stateful_actor<TurnFrontState>;
using actors::GenerateMsg;
using actors::GenerateReply;
// Where a GenerateReply goes: the asker's response promise, or a split group's join.
using Reply = std::function<void(GenerateReply)>;

Reply to_promise(caf::response_promise rp) {
  return [rp](GenerateReply r) mutable { rp.deliver(std::move(r)); };
}

// A worker answers an engine message within this, or the call fails (it runs no model step
// to answer: admission only).
constexpr auto kNodeTimeout = std::chrono::seconds(60);
constexpr auto kAskTimeout = std::chrono::seconds(30);  // the coordinator's routing answer

Error lost(const TurnFrontState& st, NodeId node) {
  auto n = st.names.find(node);
  return Error{ErrorCode::internal, "cluster: node " + std::to_string(node) +
                                        (n == st.names.end() ? "" : " '" + n->second + "'") +
                                        " holding the request was lost"};
}

Error failed(FrontSelf* self, NodeId node, const caf::error& e) {
  return Error{ErrorCode::internal, "cluster: node " + std::to_string(node) +
                                        " did not answer: " + self->system().render(e)};
}

// Runs a message on the server's own engine and passes its answer on.
template <class... Ts>
void on_local(FrontSelf* self, Reply rp, Ts&&... xs) {
  auto engine = caf::actor_cast<caf::actor>(self->state.init.local_engine);
  if (!engine) return rp(GenerateReply{0, Error{ErrorCode::cancelled, "the engine has stopped"}});
  self->request(engine, caf::infinite, std::forward<Ts>(xs)...)
      .then([rp](GenerateReply& r) mutable { rp(std::move(r)); },
            [self, rp](caf::error& e) mutable {
              rp(GenerateReply{
                  0, Error{ErrorCode::internal, "the engine: " + self->system().render(e)}});
            });
}

std::vector<caf::actor> open_relays(FrontSelf* self, NodeId node,
                                    const std::vector<caf::actor>& subs) {
  auto& st = self->state;
  std::vector<caf::actor> relays;
  relays.reserve(subs.size());
  for (const auto& s : subs) {
    auto r = self->spawn(turn_relay, caf::actor_cast<caf::actor>(self), s.address(), node);
    st.relays[node].insert(r);
    if (s) st.by_subscriber[s.address()] = {node, r};
    relays.push_back(std::move(r));
  }
  return relays;
}

// Forgets a relay: it ended, or its request never started (it is stopped).
void drop_relay(FrontSelf* self, NodeId node, const caf::actor& relay, bool stop) {
  auto& st = self->state;
  if (auto it = st.relays.find(node); it != st.relays.end()) {
    it->second.erase(relay);
    if (it->second.empty()) st.relays.erase(it);
  }
  std::erase_if(st.by_subscriber, [&](const auto& kv) { return kv.second.second == relay; });
  if (stop) self->send_exit(relay, caf::exit_reason::user_shutdown);
}

void drop_relays(FrontSelf* self, NodeId node, const std::vector<caf::actor>& relays) {
  for (const auto& r : relays)
    drop_relay(self, node, r, true);
}

// The worker's answer to a request's start (generate or fork), with ids made the agents'.
void on_started(FrontSelf* self, Reply rp, NodeId node, std::vector<caf::actor> relays,
                WireReply& wr) {
  auto r = from_wire(std::move(wr));
  if (!r.ok()) {
    drop_relays(self, node, relays);
    return rp(GenerateReply{0, r.error().with_context("cluster: node " + std::to_string(node))});
  }
  if (r->error)
    drop_relays(self, node, relays);  // refused: no batch follows
  else if (r->id != 0)
    r->id = turn_id(node, r->id);
  rp(std::move(*r));
}

void generate_on(FrontSelf* self, Reply rp, GenerateMsg m, const TurnRoute& route) {
  auto& st = self->state;
  auto w = route.engine ? to_wire(m) : Result<WireGenerate>(WireGenerate{});
  if (!route.engine || !w.ok()) {
    if (route.engine)  // e.g. a constraint other than a JSON schema's: it runs here
      spdlog::debug("cluster: a turn stays on the server's engine: {}", w.error().message);
    return on_local(self, std::move(rp), actors::generate_atom::value, std::move(m));
  }
  const NodeId node = route.node;
  st.engines[node] = route.engine;
  st.names[node] = route.name;
  auto relays = open_relays(self, node, m.subscribers);
  w->subscribers = relays;
  self->request(route.engine, kNodeTimeout, turn_generate_atom::value, std::move(*w))
      .then(
          [self, rp, node, relays](WireReply& wr) mutable {
            on_started(self, std::move(rp), node, std::move(relays), wr);
          },
          [self, rp, node, relays](caf::error& e) mutable {
            drop_relays(self, node, relays);
            rp(GenerateReply{0, failed(self, node, e)});
          });
}

void cancel_request(FrontSelf* self, RequestId id) {
  if (turn_node(id) == 0) {
    if (auto e = caf::actor_cast<caf::actor>(self->state.init.local_engine))
      self->send(e, actors::cancel_atom::value, id);
  } else if (auto e = self->state.engines.find(turn_node(id)); e != self->state.engines.end()) {
    self->send(e->second, turn_cancel_atom::value, turn_local(id));
  }
}

// A best-of group whose samples the router sent to several nodes: one group of samples per
// node, each drawing from seeds of its own; the asker gets the first refusal, else the first
// answer, once every group answered (a refused group cancels the others).
void generate_split(FrontSelf* self, Reply rp, GenerateMsg m,
                    const std::vector<TurnRoute>& routes) {
  std::map<NodeId, std::pair<TurnRoute, std::vector<caf::actor>>> groups;
  for (std::size_t i = 0; i < m.subscribers.size(); ++i) {
    auto& g = groups[routes[i].node];
    g.first = routes[i];
    g.second.push_back(m.subscribers[i]);
  }
  auto& st = self->state;
  const std::uint64_t base = m.request.params.seed.value_or(
      sampling::derive_seed(st.seed_base, static_cast<std::uint64_t>(++st.seeds_drawn)));
  struct Join {
    Reply rp;
    std::size_t left = 0;
    std::optional<GenerateReply> answer, refusal;
    std::vector<RequestId> started;
  };
  auto join = std::make_shared<Join>();
  join->rp = std::move(rp);
  join->left = groups.size();
  std::uint64_t first = 0;
  for (auto& [node, g] : groups) {
    GenerateMsg part = m;
    part.samples_after_prefill = static_cast<int>(g.second.size());
    part.subscribers = std::move(g.second);
    part.request.params.seed = sampling::derive_seed(base, first);
    first += part.subscribers.size();
    auto done = [self, join](GenerateReply r) {
      if (r.error && !join->refusal) join->refusal = r;
      if (!r.error && r.id != 0) join->started.push_back(r.id);
      if (!r.error && !join->answer) join->answer = r;
      if (--join->left > 0) return;
      if (join->refusal)
        for (RequestId id : join->started)
          cancel_request(self, id);
      join->rp(join->refusal ? *join->refusal : *join->answer);
    };
    generate_on(self, std::move(done), std::move(part), g.first);
  }
  spdlog::debug("cluster: a best-of group of {} samples goes to {} nodes", m.subscribers.size(),
                groups.size());
}

void generate_routed(FrontSelf* self, Reply rp, GenerateMsg m,
                     const std::vector<TurnRoute>& routes) {
  const bool split = m.samples_after_prefill > 1 && routes.size() == m.subscribers.size() &&
                     std::any_of(routes.begin(), routes.end(),
                                 [&](const TurnRoute& r) { return r.node != routes[0].node; });
  if (split) return generate_split(self, std::move(rp), std::move(m), routes);
  generate_on(self, std::move(rp), std::move(m), routes.empty() ? TurnRoute{} : routes[0]);
}

// The worker engine holding request `id`, or null (the node was lost or never routed to).
const caf::actor* engine_of(FrontSelf* self, RequestId id) {
  auto it = self->state.engines.find(turn_node(id));
  return it == self->state.engines.end() ? nullptr : &it->second;
}

// A call about an existing request on worker `node`, answered with a GenerateReply.
template <class... Ts>
void call_node(FrontSelf* self, Reply rp, RequestId id, Ts&&... xs) {
  const NodeId node = turn_node(id);
  const caf::actor* e = engine_of(self, id);
  if (e == nullptr) return rp(GenerateReply{id, lost(self->state, node)});
  self->request(*e, kNodeTimeout, std::forward<Ts>(xs)...)
      .then(
          [rp, node](WireReply& wr) mutable {
            auto r = from_wire(std::move(wr));
            if (!r.ok()) return rp(GenerateReply{0, r.error()});
            if (r->id != 0) r->id = turn_id(node, r->id);
            rp(std::move(*r));
          },
          [self, rp, id, node](caf::error& err) mutable {
            rp(GenerateReply{id, failed(self, node, err)});
          });
}

void on_node_down(FrontSelf* self, const TurnNodeDown& d) {
  auto& st = self->state;
  st.engines.erase(d.node);
  if (auto it = st.relays.find(d.node); it != st.relays.end()) {
    for (const auto& r : it->second)
      self->send(r, d);  // each tells its subscriber, then ends
    spdlog::warn("cluster: {} request stream(s) on the lost node {} '{}' end with an error",
                 it->second.size(), d.node, d.name);
    st.relays.erase(it);
  }
  std::erase_if(st.by_subscriber, [&](const auto& kv) { return kv.second.first == d.node; });
}

}  // namespace

caf::behavior turn_front(caf::stateful_actor<TurnFrontState>* self, TurnFrontInit init) {
  self->set_default_handler(caf::drop);
  self->state.init = std::move(init);
  std::random_device rd;
  self->state.seed_base = (std::uint64_t{rd()} << 32) ^ rd();
  // It ends with the coordinator (a monitor, not a link: its end must not end the coordinator).
  self->monitor(self->state.init.coordinator);
  self->set_down_handler([self](caf::down_msg&) { self->quit(); });
  self->send(self->state.init.coordinator, TurnFrontJoin{caf::actor_cast<caf::actor>(self)});
  return {
      [self](actors::generate_atom, GenerateMsg& m) -> caf::result<GenerateReply> {
        auto& st = self->state;
        auto rp = to_promise(self->make_response_promise());
        RouteRequest rr;
        rr.blocks = block_keys(m.request.prompt, st.init.block_size, st.init.fingerprint);
        rr.prompt_tokens = static_cast<std::int64_t>(m.request.prompt.size());
        if (m.request.program) rr.program = "program:" + std::to_string(*m.request.program);
        // A best-of group's samples are routed one by one; a fork group stays together
        // (its children share the parent's KV copy-on-write).
        const std::int32_t count = std::max(m.samples_after_prefill, 1);
        auto msg = std::make_shared<GenerateMsg>(std::move(m));
        self->request(st.init.coordinator, kAskTimeout, route_turn_atom::value, std::move(rr),
                      count)
            .then(
                [self, rp, msg](const std::vector<TurnRoute>& routes) mutable {
                  generate_routed(self, rp, std::move(*msg), routes);
                },
                [self, rp, msg](caf::error&) mutable {
                  generate_on(self, rp, std::move(*msg), TurnRoute{});
                });
        return caf::result<GenerateReply>(caf::delegated<GenerateReply>{});
      },
      [self](actors::resume_atom r, actors::ResumeMsg& m) -> caf::result<GenerateReply> {
        if (turn_node(m.id) == 0) {
          on_local(self, to_promise(self->make_response_promise()), r, std::move(m));
          return caf::delegated<GenerateReply>{};
        }
        const RequestId id = m.id;
        m.id = turn_local(id);
        auto w = to_wire(m);
        if (!w.ok()) return GenerateReply{id, w.error()};
        call_node(self, to_promise(self->make_response_promise()), id, turn_resume_atom::value,
                  std::move(*w));
        return caf::delegated<GenerateReply>{};
      },
      [self](actors::pause_atom p, RequestId id,
             std::int64_t ttl_ns) -> caf::result<GenerateReply> {
        auto rp = to_promise(self->make_response_promise());
        if (turn_node(id) == 0)
          on_local(self, rp, p, id, ttl_ns);
        else
          call_node(self, rp, id, turn_pause_atom::value, turn_local(id), ttl_ns);
        return caf::delegated<GenerateReply>{};
      },
      [self](actors::repin_atom p, RequestId id,
             std::int64_t ttl_ns) -> caf::result<GenerateReply> {
        auto rp = to_promise(self->make_response_promise());
        if (turn_node(id) == 0)
          on_local(self, rp, p, id, ttl_ns);
        else
          call_node(self, rp, id, turn_repin_atom::value, turn_local(id), ttl_ns);
        return caf::delegated<GenerateReply>{};
      },
      [self](actors::fork_atom f, RequestId parent,
             const caf::actor& subscriber) -> caf::result<GenerateReply> {
        const NodeId node = turn_node(parent);
        if (node == 0) {
          on_local(self, to_promise(self->make_response_promise()), f, parent, subscriber);
          return caf::delegated<GenerateReply>{};
        }
        const caf::actor* e = engine_of(self, parent);
        if (e == nullptr) return GenerateReply{0, lost(self->state, node)};
        auto rp = to_promise(self->make_response_promise());
        auto relays = open_relays(self, node, {subscriber});
        self->request(*e, kNodeTimeout, turn_fork_atom::value, turn_local(parent), relays[0])
            .then(
                [self, rp, node, relays](WireReply& wr) mutable {
                  on_started(self, std::move(rp), node, std::move(relays), wr);
                },
                [self, rp, node, relays](caf::error& err) mutable {
                  drop_relays(self, node, relays);
                  rp(GenerateReply{0, failed(self, node, err)});
                });
        return caf::delegated<GenerateReply>{};
      },
      [self](actors::cancel_atom, RequestId id) { cancel_request(self, id); },
      [self](actors::cancel_atom c, const caf::actor& subscriber) {
        auto& st = self->state;
        auto it = subscriber ? st.by_subscriber.find(subscriber.address()) : st.by_subscriber.end();
        if (it == st.by_subscriber.end()) {
          if (auto e = caf::actor_cast<caf::actor>(st.init.local_engine))
            self->send(e, c, subscriber);
        } else if (auto e = st.engines.find(it->second.first); e != st.engines.end()) {
          self->send(e->second, turn_cancel_atom::value, it->second.second);
        }
      },
      [self](actors::metrics_atom m) -> caf::result<actors::RuntimeMetrics> {
        auto e = caf::actor_cast<caf::actor>(self->state.init.local_engine);
        if (!e) return actors::RuntimeMetrics{};
        auto rp = self->make_response_promise<actors::RuntimeMetrics>();
        self->request(e, caf::infinite, m)
            .then([rp](actors::RuntimeMetrics& r) mutable { rp.deliver(std::move(r)); },
                  [rp](caf::error&) mutable { rp.deliver(actors::RuntimeMetrics{}); });
        return rp;
      },
      [self](const TurnRelayDone& d) { drop_relay(self, d.node, d.relay, false); },
      [self](const TurnNodeDown& d) { on_node_down(self, d); },
  };
}

}  // namespace agentrt::cluster
