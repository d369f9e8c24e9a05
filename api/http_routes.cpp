// The REST routes (docs/api.md): jobs, their events (Server-Sent Events), validation and
// health. Every error is JSON ({"error": {"code", "message", "pointer"}}).
#include <spdlog/spdlog.h>
#include <xxhash.h>

#include <cstdio>

#include "api/body/api_limits.h"
#include "api/body/job_request.h"
#include "api/body/openai_request.h"
#include "api/dashboard/dashboard_routes.h"
#include "api/server_impl.h"
#include "engine/common/echo.h"

namespace agentrt::api {
namespace {

using nlohmann::json;

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

void reply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(dump(body), "application/json");
}

// The OpenAI-compatible routes answer OpenAI error objects, the rest agentrt's.
bool openai_path(const std::string& path) {
  return path == "/v1/chat/completions" || path == "/v1/completions" || path == "/v1/models";
}

void reply_error(httplib::Response& res, const ApiError& e) {
  if (e.retry_after > 0) res.set_header("Retry-After", std::to_string(e.retry_after));
  reply(res, e.status, to_json(e));
}

void reply_error_for(const httplib::Request& req, httplib::Response& res, const ApiError& e) {
  if (!openai_path(req.path)) return reply_error(res, e);
  reply_openai_error(res, e);
}

std::string body_hash(const std::string& body) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016llx",
                static_cast<unsigned long long>(XXH3_64bits(body.data(), body.size())));
  return buf;
}

// "id: 3\nevent: step_finished\ndata: {...}\n\n"
std::string sse_frame(const storage::StoredEvent& e) {
  const std::string type = e.data.value("type", std::string("event"));
  return "id: " + std::to_string(e.seq) + "\nevent: " + type + "\ndata: " + dump(e.data) + "\n\n";
}

std::optional<std::int64_t> parse_seq(const std::string& s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  std::int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

}  // namespace

void Server::Impl::install_routes() {
  http.new_task_queue = [n = opt.http_threads] {
    return new httplib::ThreadPool(static_cast<std::size_t>(n + kMaxEventStreams));
  };
  http.set_payload_max_length(kMaxRequestBodyBytes);
  // Without it a reply written in two sends (headers, body) waits ~40 ms for the client's
  // delayed ACK (Nagle): measured in bench/RESULTS.md.
  http.set_tcp_nodelay(true);
  http.set_read_timeout(30, 0);
  http.set_write_timeout(30, 0);
  http.set_error_handler(httplib::Server::HandlerWithResponse(
      [](const httplib::Request& req, httplib::Response& res) -> httplib::Server::HandlerResponse {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        ApiError e =
            res.status == 404 ? api_error(404, "not_found", "no such route")
            : res.status == 413
                ? api_error(413, "too_large",
                            "request body over the limit of " +
                                std::to_string(kMaxRequestBodyBytes) + " bytes")
                : api_error(res.status, "http_error", "HTTP error " + std::to_string(res.status));
        res.set_content(dump(openai_path(req.path) ? to_openai_json(e) : to_json(e)),
                        "application/json");
        return httplib::Server::HandlerResponse::Handled;
      }));
  http.set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr) {
        reply_error_for(req, res, api_error(500, "internal", "internal error"));
      });
  // Authentication for everything but health checks; the client's identity for its limits.
  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (req.path == "/healthz" || req.path == "/readyz" || is_dashboard_asset_path(req.path))
      return httplib::Server::HandlerResponse::Unhandled;
    if (keys && !keys->check(req.get_header_value("Authorization"))) {
      res.set_header("WWW-Authenticate", "Bearer");
      reply_error_for(
          req, res,
          api_error(401, "unauthorized", "missing or wrong API key (Authorization: Bearer KEY)"));
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  auto client_of = [this](const httplib::Request& req) {
    if (keys) return *keys->check(req.get_header_value("Authorization"));
    return req.remote_addr;
  };

  http.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    reply(res, 200, {{"status", "ok"}});
  });
  http.Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    const bool ready = !stopping && jobs->accepting();
    reply(res, ready ? 200 : 503, {{"ready", ready}});
  });

  http.Post("/v1/jobs", [this, client_of](const httplib::Request& req, httplib::Response& res) {
    const std::string key = req.get_header_value("Idempotency-Key");
    if (key.size() > kMaxIdempotencyKeyBytes)
      return reply_error(res, api_error(400, "invalid_header",
                                        "Idempotency-Key longer than " +
                                            std::to_string(kMaxIdempotencyKeyBytes) + " bytes"));
    auto parsed = parse_job_request(req.body);
    if (!parsed.ok()) return reply_error(res, parsed.error());
    auto sub = jobs->submit(*parsed, client_of(req), key, body_hash(req.body));
    if (!sub.ok()) return reply_error(res, sub.error());
    res.set_header("Location", "/v1/jobs/" + sub->id);
    if (sub->replayed) res.set_header("Idempotent-Replayed", "true");
    reply(res, sub->replayed ? 200 : 201, {{"id", sub->id}});
  });

  http.Get("/v1/jobs", [this](const httplib::Request& req, httplib::Response& res) {
    std::optional<JobState> state;
    if (req.has_param("state")) {
      state = parse_job_state(req.get_param_value("state"));
      if (!state)
        return reply_error(res, api_error(400, "invalid_query",
                                          "state: expected queued, running, succeeded, failed or "
                                          "cancelled",
                                          "state"));
    }
    int limit = kDefaultListLimit;
    if (req.has_param("limit")) {
      auto v = parse_seq(req.get_param_value("limit"));
      if (!v || *v < 1 || *v > kMaxListLimit)
        return reply_error(res, api_error(400, "invalid_query",
                                          "limit: expected an integer in [1, " +
                                              std::to_string(kMaxListLimit) + "]",
                                          "limit"));
      limit = static_cast<int>(*v);
    }
    reply(res, 200, jobs->list(state, limit, req.get_param_value("cursor")));
  });

  http.Get(R"(/v1/jobs/([A-Za-z0-9_-]{1,64}))", [this](const httplib::Request& req,
                                                       httplib::Response& res) {
    auto j = jobs->get(req.matches[1]);
    if (!j)
      return reply_error(res, api_error(404, "not_found", "no job " + std::string(req.matches[1])));
    reply(res, 200, *j);
  });

  http.Delete(R"(/v1/jobs/([A-Za-z0-9_-]{1,64}))",
              [this](const httplib::Request& req, httplib::Response& res) {
                auto r = jobs->cancel(req.matches[1]);
                if (!r.ok()) return reply_error(res, r.error());
                reply(res, 202, *r);
              });

  http.Get(R"(/v1/jobs/([A-Za-z0-9_-]{1,64})/events)", [this](const httplib::Request& req,
                                                              httplib::Response& res) {
    const std::string id = req.matches[1];
    std::int64_t after = 0;
    const std::string last = req.has_header("Last-Event-ID") ? req.get_header_value("Last-Event-ID")
                                                             : req.get_param_value("after");
    if (!last.empty()) {
      auto v = parse_seq(last);
      if (!v)
        return reply_error(
            res, api_error(400, "invalid_header", "Last-Event-ID: expected an event number",
                           "Last-Event-ID"));
      after = *v;
    }
    if (!jobs->get(id)) return reply_error(res, api_error(404, "not_found", "no job " + id));
    if (streams.fetch_add(1) >= kMaxEventStreams) {
      streams.fetch_sub(1);
      ApiError e = api_error(429, "busy", "too many event streams open");
      e.retry_after = 5;
      return reply_error(res, e);
    }
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
    auto next = std::make_shared<std::int64_t>(after);
    auto idle = std::make_shared<int>(0);
    res.set_chunked_content_provider(
        "text/event-stream",
        [this, id, next, idle](std::size_t, httplib::DataSink& sink) {
          if (stopping) {
            sink.done();
            return true;
          }
          auto page = jobs->events(id, *next, std::chrono::milliseconds(1000));
          if (!page.ok()) {
            sink.done();
            return true;
          }
          std::string out;
          for (const auto& e : page->events) {
            out += sse_frame(e);
            *next = e.seq;
          }
          if (out.empty() && ++*idle >= 15) {
            out = ": keep-alive\n\n";
            *idle = 0;
          }
          if (!out.empty() && !sink.write(out.data(), out.size())) return false;
          if (page->finished) sink.done();
          return true;
        },
        [this](bool) { streams.fetch_sub(1); });
  });

  http.Post("/v1/workflows/validate", [this](const httplib::Request& req, httplib::Response& res) {
    auto parsed = parse_job_request(req.body);
    if (!parsed.ok()) return reply_error(res, parsed.error());
    if (parsed->yaml.empty())
      return reply_error(
          res, api_error(422, "invalid_request", "give the workflow as \"yaml\"", "/workflow"));
    reply(res, 200, jobs->validate(parsed->yaml));
  });
}

}  // namespace agentrt::api
