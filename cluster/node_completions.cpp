// NodeCompletions (node_completions.h): one thread per call, from the body to the parts.
#include "cluster/node_completions.h"

#include <spdlog/spdlog.h>

namespace agentrt::cluster {
namespace {

api::OpenAiHostCall host_call(const CompletionCall& call) {
  api::OpenAiHostCall hc;
  hc.endpoint = call.endpoint == 1 ? api::OpenAiEndpoint::completions : api::OpenAiEndpoint::chat;
  hc.body = call.body;
  hc.model = call.model;
  hc.client = call.client;
  if (call.has_session_header) hc.session_header = call.session_header;
  if (call.thinking >= 0) hc.enable_thinking = call.thinking == 1;
  return hc;
}

}  // namespace

NodeCompletions::NodeCompletions(api::OpenAiHost& host, SendFn send)
    : host_(&host), send_(std::move(send)) {}

NodeCompletions::NodeCompletions(SendFn send) : send_(std::move(send)) {}

NodeCompletions::~NodeCompletions() {
  for (auto& [id, run] : runs_)
    run->cancelled = true;
  for (auto& [id, run] : runs_)
    run->thread.join();
}

void NodeCompletions::join_ended() {
  for (auto it = runs_.begin(); it != runs_.end();) {
    if (!it->second->ended.load()) {
      ++it;
      continue;
    }
    it->second->thread.join();
    it = runs_.erase(it);
  }
}

void NodeCompletions::start(CompletionCall call) {
  StartFn start_fn;
  if (host_ != nullptr) start_fn = [host = host_, hc = host_call(call)] { return host->start(hc); };
  start(std::move(call), std::move(start_fn));
}

void NodeCompletions::start(CompletionCall call, StartFn start_fn) {
  join_ended();
  if (auto it = runs_.find(call.id); it != runs_.end()) {  // an older attempt
    it->second->cancelled = true;
    it->second->thread.join();
    runs_.erase(it);
  }
  auto run = std::make_unique<Run>();
  run->attempt = call.attempt;
  Run* r = run.get();
  const std::uint64_t id = call.id;
  run->thread = std::thread([this, r, c = std::move(call), f = std::move(start_fn)] {
    execute(c, f, *r);
    r->ended = true;
  });
  runs_[id] = std::move(run);
}

void NodeCompletions::cancel(std::uint64_t id, std::int32_t attempt) {
  if (auto it = runs_.find(id); it != runs_.end() && it->second->attempt == attempt)
    it->second->cancelled = true;
  join_ended();
}

int NodeCompletions::running() const {
  int n = 0;
  for (const auto& [id, run] : runs_)
    n += run->ended.load() ? 0 : 1;
  return n;
}

void NodeCompletions::execute(const CompletionCall& call, const StartFn& start_fn, Run& run) {
  auto part = [&](std::int32_t kind, std::int32_t status, std::string bytes) {
    return CompletionPart{call.id, call.attempt, kind, status, std::move(bytes)};
  };
  auto started = start_fn ? start_fn()
                          : api::ApiOr<std::unique_ptr<api::OpenAiCall>>(api::api_error(
                                500, "internal", "no engine here can run this request"));
  if (!started.ok()) {
    const auto& e = started.error();
    spdlog::info("node: completion {} (attempt {}) refused: {} {}", call.id, call.attempt, e.status,
                 e.message);
    send_(part(
        1, e.status,
        api::to_openai_json(e).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
    return;
  }
  send_(part(0, 200, ""));
  (*started)->run([&](const std::string& bytes) {
    if (run.cancelled.load()) return false;
    if (!api::OpenAiCall::heartbeat(bytes)) send_(part(2, 200, bytes));
    return true;
  });
  if (!run.cancelled.load()) send_(part(3, 200, ""));
}

}  // namespace agentrt::cluster
