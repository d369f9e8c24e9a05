// The OpenAI-compatible routes (docs/api.md, "OpenAI-compatible API"): GET /v1/models,
// POST /v1/chat/completions, POST /v1/completions; and the session-pin reaper. Errors are
// OpenAI error objects.
#include <spdlog/spdlog.h>

#include <filesystem>
#include <span>

#include "api/body/api_limits.h"
#include "api/body/openai_request.h"
#include "api/body/openai_response.h"
#include "api/openai_relay.h"
#include "api/openai_run.h"
#include "api/server_impl.h"

namespace agentrt::api {
namespace {

using nlohmann::json;

}  // namespace

void reply_openai_error(httplib::Response& res, const ApiError& e) {
  if (e.retry_after > 0) res.set_header("Retry-After", std::to_string(e.retry_after));
  res.status = e.status;
  res.set_content(to_openai_json(e).dump(-1, ' ', false, json::error_handler_t::replace),
                  "application/json");
}

Result<std::pair<std::string, actors::Runtime*>> Server::Impl::openai_model(
    const std::string& name) {
  for (const auto& dir : opt.model_dirs) {
    if (name != model_name(dir) && name != dir.string()) continue;
    auto rt = pool->get(model_key(opt, dir));
    if (!rt.ok()) return rt.error();
    return std::make_pair(model_name(dir), *rt);
  }
  return make_error(ErrorCode::not_found, "The model '" + name + "' does not exist");
}

void Server::Impl::reap_sessions() {
  std::unique_lock lock(reaper_mu);
  while (!stopped) {
    reaper_cv.wait_for(lock, kSessionReapPeriod);
    for (const auto& turn : sessions->expire()) {
      auto rt = openai_model(turn.model);
      if (rt.ok()) rt->second->cancel_request(turn.request);
    }
  }
}

// A completion on a cluster node: validated and rendered here (the same errors as a local
// call), routed by its prompt's block keys and session key, relayed back as it streams.
void Server::Impl::relay(const httplib::Request& req, httplib::Response& res, OpenAiRequest parsed,
                         OpenAiDeps deps, OpenAiEndpoint endpoint, std::shared_ptr<void> slot) {
  const bool sse = parsed.stream;
  actors::Runtime& rt = *deps.runtime;
  RemoteCompletion rc;
  rc.endpoint = endpoint;
  rc.body = req.body;
  rc.model = deps.model;
  rc.client = deps.client;
  rc.session_header = deps.session_header;
  rc.enable_thinking = deps.enable_thinking;
  rc.run_here = [parsed, deps] { return OpenAiCall::start(parsed, deps); };
  auto key = OpenAiCall::route_key(std::move(parsed), std::move(deps));
  if (!key.ok()) return reply_openai_error(res, key.error());
  rc.prompt_tokens = std::ssize(key->prompt);
  rc.program = std::move(key->session_key);
  const int block = std::max(1, rt.kv_geometry().block_size);
  const std::string fingerprint = rt.kv_key_fingerprint();
  kv::BlockKey parent = kv::root_key(fingerprint);
  for (std::size_t at = 0; at + block <= key->prompt.size(); at += block) {
    parent = kv::chain_key(parent, std::span(key->prompt).subspan(at, block), fingerprint);
    rc.blocks.push_back(parent);
  }
  auto relayed = OpenAiRelay::start(*opt.remote_completions, std::move(rc), sse);
  if (!relayed.ok()) return reply_openai_error(res, relayed.error());
  std::shared_ptr<OpenAiRelay> r = std::move(*relayed);
  res.set_header("X-Agentrt-Node", r->node());
  if (sse) {
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
  }
  res.set_chunked_content_provider(
      sse ? "text/event-stream" : "application/json",
      [r, slot](std::size_t, httplib::DataSink& sink) {
        r->run([&sink](const std::string& s) { return sink.write(s.data(), s.size()); });
        sink.done();
        return true;
      });
}

void Server::Impl::install_openai_routes() {
  http.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
    json data = json::array();
    for (const auto& dir : opt.model_dirs)
      data.push_back(
          {{"id", model_name(dir)}, {"object", "model"}, {"created", 0}, {"owned_by", "agentrt"}});
    res.set_content(json{{"object", "list"}, {"data", data}}.dump(), "application/json");
  });

  auto complete = [this](OpenAiEndpoint endpoint) {
    return [this, endpoint](const httplib::Request& req, httplib::Response& res) {
      if (stopping)
        return reply_openai_error(res, api_error(503, "shutting_down", "the server is stopping"));
      auto parsed = parse_openai_request(req.body, endpoint);
      if (!parsed.ok()) return reply_openai_error(res, parsed.error());
      auto model = openai_model(parsed->model);
      if (!model.ok()) {
        const bool unknown = model.error().code == ErrorCode::not_found;
        return reply_openai_error(
            res, unknown ? api_error(404, "model_not_found", model.error().message, "/model")
                         : from_error(model.error(), "/model"));
      }
      // One slot per completion in flight, held until its reply is written.
      const int cap =
          opt.max_completions > 0 ? opt.max_completions : std::max(1, opt.http_threads - 8);
      if (completions.fetch_add(1) >= cap) {
        completions.fetch_sub(1);
        ApiError busy =
            api_error(429, "too_many_requests",
                      "more than " + std::to_string(cap) + " completions in flight; retry later");
        busy.retry_after = 1;
        metrics.rejected(model->first);
        return reply_openai_error(res, busy);
      }
      auto slot = std::shared_ptr<void>(nullptr, [this](void*) { completions.fetch_sub(1); });
      OpenAiDeps deps;
      deps.runtime = model->second;
      deps.model = model->first;
      deps.sessions = sessions.get();
      deps.metrics = &metrics;
      if (keys) deps.client = keys->check(req.get_header_value("Authorization")).value_or("");
      deps.enable_thinking = opt.enable_thinking;
      if (req.has_header("X-Agentrt-Session")) {
        deps.session_header = req.get_header_value("X-Agentrt-Session");
        if (deps.session_header->size() > kMaxOpenAiNameBytes)
          return reply_openai_error(res,
                                    api_error(400, "invalid_value",
                                              "X-Agentrt-Session: longer than " +
                                                  std::to_string(kMaxOpenAiNameBytes) + " bytes",
                                              "X-Agentrt-Session"));
      }
      if (opt.remote_completions && opt.remote_completions->available())
        return relay(req, res, std::move(*parsed), std::move(deps), endpoint, slot);
      auto call = OpenAiCall::start(std::move(*parsed), std::move(deps));
      if (!call.ok()) return reply_openai_error(res, call.error());
      std::shared_ptr<OpenAiCall> c = std::move(*call);
      const bool sse = c->streaming();
      if (sse) {
        res.set_header("Cache-Control", "no-cache");
        res.set_header("X-Accel-Buffering", "no");
      }
      res.set_chunked_content_provider(
          sse ? "text/event-stream" : "application/json",
          [c, slot](std::size_t, httplib::DataSink& sink) {
            c->run([&sink](const std::string& s) { return sink.write(s.data(), s.size()); });
            sink.done();
            return true;
          });
    };
  };
  http.Post("/v1/chat/completions", complete(OpenAiEndpoint::chat));
  http.Post("/v1/completions", complete(OpenAiEndpoint::completions));
}

}  // namespace agentrt::api
