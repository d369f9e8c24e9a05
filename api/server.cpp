// Server: opening the data directory, the runtime pool and the jobs; binding; stopping.
#include "api/server.h"

#include <arpa/inet.h>
#include <spdlog/spdlog.h>

#include "api/dashboard/dashboard_routes.h"
#include "api/server_impl.h"
#include "storage/kv_store.h"

namespace agentrt::api {

bool is_loopback(const std::string& host) {
  if (host == "localhost" || host == "::1") return true;
  in_addr a{};
  if (inet_pton(AF_INET, host.c_str(), &a) != 1) return false;
  return (ntohl(a.s_addr) >> 24) == 127;
}

std::string model_name(const std::filesystem::path& dir) {
  auto p = dir;
  if (!p.has_filename()) p = p.parent_path();
  return p.filename().string();
}

actors::ModelKey model_key(const ServerOptions& options, const std::filesystem::path& dir) {
  actors::ModelKey key;
  key.dir = dir.string();
  key.backend = options.runner.backend.empty() ? "cpu" : options.runner.backend;
  key.kv_blocks = options.runner.kv_blocks;
  key.threads = options.runner.threads;
  key.max_live_requests = options.runner.max_live_requests;
  key.weight_check = options.runner.weight_check;
  return key;
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() {
  stop();
}

int Server::port() const {
  return impl_->port;
}

std::vector<std::string> Server::startup_problems() const {
  return impl_->problems;
}

Result<std::unique_ptr<Server>> Server::create(ServerOptions options) {
  if (options.model_dirs.empty())
    return make_error(ErrorCode::invalid_argument, "serve: no model directory");
  if (!is_loopback(options.host) && options.api_key_file.empty())
    return make_error(
        ErrorCode::invalid_argument,
        "serve: binding " + options.host + " (not a loopback address) requires --api-key-file");
  auto impl = std::make_unique<Impl>();
  if (!options.api_key_file.empty()) {
    auto keys = ApiKeys::load(options.api_key_file);
    if (!keys.ok()) return keys.error();
    impl->keys = std::move(*keys);
  }
  std::error_code ec;
  std::filesystem::create_directories(options.data_dir, ec);
  if (ec)
    return make_error(ErrorCode::io, "--data " + options.data_dir.string() + ": " + ec.message());
  if (options.workflows_dir.empty()) {
    options.workflows_dir = options.data_dir / "workflows";
    std::filesystem::create_directories(options.workflows_dir, ec);
  }
  auto db = storage::Db::open(options.data_dir / "store");
  if (!db.ok()) return db.error().with_context("--data " + options.data_dir.string());
  impl->db = *db;
  for (const auto& p : impl->db->recovered_problems()) {
    spdlog::warn("store: {}", p);
    impl->problems.push_back("store: " + p);
  }

  impl->sessions = std::make_shared<SessionTable>(options.sessions);
  actors::RuntimeOptions base;
  // Session pins weigh holding KV against recomputing it at the measured prefill rate.
  base.on_prefill = [sessions = impl->sessions](std::int64_t n, double s) {
    sessions->record_prefill(n, s);
  };
  if (options.host_tier_bytes) base.host_tier_bytes = options.host_tier_bytes;
  base.engine.order = options.order;
  base.engine.blend_anchors = options.blend_anchors;
  base.engine.anchors = options.anchors;
  base.engine.kv_events = options.kv_events;
  base.engine_front = options.engine_front;
  storage::KvStoreOptions kv;
  kv.max_bytes = options.kv_store_max_bytes > 0 ? options.kv_store_max_bytes : kDefaultKvStoreBytes;
  base.persistent = storage::KvStore::tier_factory(impl->db, kv);
  impl->pool = std::make_unique<actors::RuntimePool>(base);

  JobManagerOptions jo = options.jobs;
  jo.workflows_dir = options.workflows_dir;
  jo.model_roots = options.model_dirs;
  jo.runner = options.runner;
  // The default model loads before the port opens: /readyz is true from the first request.
  const actors::ModelKey key = model_key(options, options.model_dirs.front());
  if (auto rt = impl->pool->get(key); !rt.ok()) return rt.error().with_context("model " + key.dir);
  auto jobs = JobManager::open(std::move(jo), impl->db, *impl->pool);
  if (!jobs.ok()) return jobs.error();
  impl->jobs = std::move(*jobs);
  for (const auto& d : impl->jobs->dropped_at_open()) {
    const std::string line = "job " + (d.job_id.empty() ? std::string("?") : d.job_id) + ": " +
                             d.what + " is damaged: " + d.reason;
    spdlog::error("store: {}", line);
    impl->problems.push_back(line);
  }

  impl->started_at = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  impl->opt = std::move(options);
  impl->install_routes();
  impl->install_openai_routes();
  install_metrics_route(*impl);
  install_dashboard_routes(*impl);
  const auto& o = impl->opt;
  if (o.port == 0) {
    impl->port = impl->http.bind_to_any_port(o.host);
    if (impl->port <= 0)
      return make_error(ErrorCode::io, "serve: cannot bind " + o.host + " on any port");
  } else {
    if (!impl->http.bind_to_port(o.host, o.port))
      return make_error(ErrorCode::io, "serve: cannot bind " + o.host + ":" +
                                           std::to_string(o.port) + " (in use, or not allowed)");
    impl->port = o.port;
  }
  spdlog::info("serving on http://{}:{} (data {}, {} model dir(s), {})", o.host, impl->port,
               o.data_dir.string(), o.model_dirs.size(),
               impl->keys ? "API keys required" : "no API key");
  impl->session_reaper = std::thread([p = impl.get()] { p->reap_sessions(); });
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

std::vector<actors::RuntimeMetrics> Server::engine_metrics() const {
  std::vector<actors::RuntimeMetrics> out;
  for (auto* rt : impl_->pool->all())
    out.push_back(rt->metrics());
  return out;
}

void Server::run() {
  impl_->http.listen_after_bind();
}

void Server::stop() {
  if (impl_->stopped.exchange(true)) return;
  impl_->stopping = true;
  spdlog::info("stopping: no new requests");
  impl_->http.stop();
  { std::lock_guard lock(impl_->reaper_mu); }
  impl_->reaper_cv.notify_all();
  if (impl_->session_reaper.joinable()) impl_->session_reaper.join();
  if (impl_->jobs) impl_->jobs->shutdown();
  if (impl_->pool) impl_->pool->flush_kv();
  if (impl_->db) {
    if (auto st = impl_->db->flush(); !st.ok())
      spdlog::error("store flush: {}", st.error().message);
  }
  spdlog::info("stopped");
}

}  // namespace agentrt::api
