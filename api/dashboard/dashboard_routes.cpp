// GET /, GET /dashboard/NAME and GET /v1/jobs/{id}/graph.
#include "api/dashboard/dashboard_routes.h"

#include <xxhash.h>

#include <cstdio>
#include <memory>

#include "api/dashboard/dashboard_assets.h"
#include "api/dashboard/job_graph.h"
#include "storage/job_store.h"

namespace agentrt::api {
namespace {

using nlohmann::json;

// Scripts and styles only from this server; inline styles for the chart library.
constexpr const char* kCsp =
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'";

void reply_json_error(httplib::Response& res, const ApiError& e) {
  res.status = e.status;
  res.set_content(to_json(e).dump(-1, ' ', false, json::error_handler_t::replace),
                  "application/json");
}

// The asset with an ETag (its hash): the browser revalidates each load (no-cache) and gets
// 304 when the binary's copy is unchanged.
void serve_asset(const httplib::Request& req, httplib::Response& res, const std::string& name) {
  auto body = find_dashboard_asset(name);
  if (!body)
    return reply_json_error(res, api_error(404, "not_found", "no dashboard file '" + name + "'"));
  char etag[24];
  std::snprintf(etag, sizeof etag, "\"%016llx\"",
                static_cast<unsigned long long>(XXH3_64bits(body->data(), body->size())));
  res.set_header("ETag", etag);
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Content-Type-Options", "nosniff");
  if (name == "index.html") {
    res.set_header("Content-Security-Policy", kCsp);
    res.set_header("Referrer-Policy", "no-referrer");
  }
  if (req.get_header_value("If-None-Match") == etag) {
    res.status = 304;
    return;
  }
  res.status = 200;
  res.set_content(std::move(*body), dashboard_content_type(name));
}

}  // namespace

bool is_dashboard_asset_path(const std::string& path) {
  return path == "/" || path.rfind("/dashboard/", 0) == 0;
}

void install_dashboard_routes(Server::Impl& impl) {
  impl.http.Get("/", [](const httplib::Request& req, httplib::Response& res) {
    serve_asset(req, res, "index.html");
  });
  impl.http.Get(R"(/dashboard/(.+))", [](const httplib::Request& req, httplib::Response& res) {
    serve_asset(req, res, req.matches[1]);
  });
  // The job's workflow text is in its stored record (kept after the job ends).
  std::shared_ptr<storage::JobStore> store;
  if (auto s = storage::JobStore::open(impl.db); s.ok()) store = std::move(*s);
  impl.http.Get(R"(/v1/jobs/([A-Za-z0-9_-]{1,64})/graph)",
                [store](const httplib::Request& req, httplib::Response& res) {
                  const std::string id = req.matches[1];
                  if (!store)
                    return reply_json_error(res, api_error(500, "internal", "no job store"));
                  auto doc = store->get_job(id);
                  if (!doc.ok()) return reply_json_error(res, from_error(doc.error()));
                  if (!*doc || !(**doc).contains("yaml") || !(**doc)["yaml"].is_string())
                    return reply_json_error(res, api_error(404, "not_found", "no job " + id));
                  const std::string name = (**doc).value("workflow", std::string());
                  auto graph = job_graph_json((**doc)["yaml"].get<std::string>(),
                                              name.empty() ? "inline.yaml" : name);
                  if (!graph.ok()) return reply_json_error(res, from_error(graph.error()));
                  res.status = 200;
                  res.set_content(graph->dump(-1, ' ', false, json::error_handler_t::replace),
                                  "application/json");
                });
}

}  // namespace agentrt::api
