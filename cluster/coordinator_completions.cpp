// The coordinator actor's OpenAI completions (coordinator_actor.h): routing each one to a
// node by the policy, relaying its reply parts, and moving or failing the completions of a
// node that left.
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "cluster/coordinator_actor.h"

namespace agentrt::cluster {
namespace {

// An error part with an OpenAI error object.
CompletionPart error_part(std::uint64_t id, int status, const std::string& code,
                          const std::string& message) {
  const nlohmann::json e = {{"error",
                             {{"message", message},
                              {"type", status >= 500 ? "server_error" : "invalid_request_error"},
                              {"param", nullptr},
                              {"code", code}}}};
  return CompletionPart{id, 0, 1, status, e.dump()};
}

void fail(CoordinatorSelf* self, std::uint64_t id, const CompletionPart& part) {
  auto& st = self->state;
  auto it = st.completions.find(id);
  if (it == st.completions.end()) return;
  auto sub = it->second.sub;
  st.completions.erase(it);
  sub->sink(part, "");
}

// Sends attempt `attempt` of the completion to its node, unless it was cancelled or moved
// meanwhile (while its session's KV was on its way).
void dispatch(CoordinatorSelf* self, std::uint64_t id, std::int32_t attempt) {
  auto& st = self->state;
  auto it = st.completions.find(id);
  if (it == st.completions.end() || it->second.attempt != attempt) return;
  if (it->second.node == kLocalNode) {
    const auto& c = it->second.sub->completion;
    CompletionCall call = c.call;
    call.id = id;
    call.attempt = attempt;
    spdlog::info("cluster: completion {} (attempt {}) -> the server's engine ({} prompt tokens)",
                 id, attempt, c.prompt_tokens);
    if (st.local) {
      ++st.local_completions_routed;
      return st.local->start_completion(std::move(call), c.run_here);
    }
    return fail(self, id, error_part(id, 503, "no_node", "the server's engine left the cluster"));
  }
  auto target = st.nodes.find(it->second.node);
  if (target == st.nodes.end()) return;  // it left: on_completion_node_down moves the call
  const auto& c = it->second.sub->completion;
  CompletionCall call = c.call;
  call.id = id;
  call.attempt = attempt;
  spdlog::info("cluster: completion {} (attempt {}) -> node {} '{}' ({} prompt tokens)", id,
               attempt, target->second.id, target->second.name, c.prompt_tokens);
  ++target->second.completions_routed;
  self->send(target->second.handle, complete_atom::value, std::move(call));
}

// Sends the completion's current attempt to the node the router picks; when its session's
// turn moves there for load, once the session's KV has followed (move_session_kv).
void route(CoordinatorSelf* self, std::uint64_t id) {
  auto& st = self->state;
  auto& entry = st.completions.at(id);
  const auto& c = entry.sub->completion;
  RouteRequest req;
  req.blocks = c.blocks;
  req.program = c.program;
  req.prompt_tokens = c.prompt_tokens;
  auto decision = st.router->decide(req);
  if (!decision.ok())
    return fail(self, id,
                error_part(id, 503, "no_node", "no cluster node is live to run the request"));
  entry.node = decision->node;
  const std::int32_t attempt = entry.attempt;
  if (decision->node == kLocalNode) {  // the server's engine ships no KV, in or out
    st.session_nodes.erase(c.program);
    return dispatch(self, id, attempt);
  }
  if (!move_session_kv(self, c, *decision, [self, id, attempt] { dispatch(self, id, attempt); }))
    dispatch(self, id, attempt);
}

}  // namespace

void on_completion_submit(CoordinatorSelf* self, const std::shared_ptr<CompletionSubmission>& sub) {
  const std::uint64_t id = sub->completion.call.id;
  auto& st = self->state;
  if (st.completions.count(id) != 0) {
    sub->sink(error_part(id, 500, "internal", "cluster completion id reused"), "");
    return;
  }
  st.completions[id] = CompletionEntry{sub, 0, -1, false};  // -1: not routed yet
  route(self, id);
}

void on_completion_part(CoordinatorSelf* self, NodeId from, const CompletionPart& part) {
  auto& st = self->state;
  auto it = st.completions.find(part.id);
  if (it == st.completions.end() || it->second.node != from || it->second.attempt != part.attempt ||
      part.kind < 0 || part.kind > 3)
    return;  // stale: cancelled, moved, or another attempt
  const std::string name = from == kLocalNode ? kLocalNodeName : st.nodes.at(from).name;
  auto sub = it->second.sub;
  if (part.kind == 2) it->second.replied = true;
  if (part.kind == 1 || part.kind == 3) st.completions.erase(it);
  sub->sink(part, name);
}

void on_completion_cancel(CoordinatorSelf* self, std::uint64_t id) {
  auto& st = self->state;
  auto it = st.completions.find(id);
  if (it == st.completions.end()) return;
  if (it->second.node == kLocalNode && st.local)
    st.local->cancel_completion(id, it->second.attempt);
  if (auto n = st.nodes.find(it->second.node); n != st.nodes.end())
    self->send(n->second.handle, cancel_completion_atom::value, id, it->second.attempt);
  st.completions.erase(it);
}

void on_completion_node_down(CoordinatorSelf* self, NodeId node, const std::string& name,
                             const std::string& kv_store) {
  auto& st = self->state;
  forget_session_nodes(st, node, kv_store);
  std::vector<std::uint64_t> moved;
  std::vector<std::uint64_t> broken;
  for (auto& [id, entry] : st.completions)
    if (entry.node == node) (entry.replied ? broken : moved).push_back(id);
  for (std::uint64_t id : broken)
    fail(self, id,
         error_part(id, 502, "node_lost",
                    "cluster node '" + name +
                        "' left while it was streaming this reply; retry the request"));
  for (std::uint64_t id : moved) {
    ++st.completions.at(id).attempt;
    spdlog::warn("cluster: completion {} moves off node {} '{}' (no reply bytes yet)", id, node,
                 name);
    {
      std::lock_guard lock(st.shared->mu);
      ++st.shared->counters.completions_moved;
    }
    route(self, id);
  }
}

void end_completions(CoordinatorState& state) {
  for (auto& [id, entry] : state.completions)
    entry.sub->sink(error_part(id, 503, "shutting_down", "the coordinator stopped"), "");
  state.completions.clear();
}

}  // namespace agentrt::cluster
