// Server::Impl: the pieces behind the server, shared by server.cpp (lifecycle) and
// http_routes.cpp (handlers). Internal to api/.
#pragma once

#include <httplib.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "actors/runtime_pool.h"
#include "api/api_keys.h"
#include "api/metrics.h"
#include "api/openai_run.h"
#include "api/server.h"
#include "api/session_table.h"
#include "storage/db.h"

namespace agentrt::api {

struct Server::Impl {
  ServerOptions opt;
  std::shared_ptr<storage::Db> db;
  std::unique_ptr<actors::RuntimePool> pool;
  std::unique_ptr<JobManager> jobs;
  std::optional<ApiKeys> keys;
  httplib::Server http;
  int port = 0;
  std::atomic<bool> stopping{false};
  std::atomic<int> streams{0};      // event streams open
  std::atomic<int> completions{0};  // OpenAI completions in flight
  std::atomic<bool> stopped{false};
  std::vector<std::string> problems;  // startup_problems()
  std::int64_t started_at = 0;        // Unix seconds (the models' "created")
  ServerMetrics metrics;              // the OpenAI API's requests (GET /metrics)
  // Shared with the runtimes' prefill callback (which may outlive this member's turn).
  std::shared_ptr<SessionTable> sessions;
  std::thread session_reaper;  // cancels session pins past their TTL
  std::mutex reaper_mu;
  std::condition_variable reaper_cv;

  void install_routes();         // http_routes.cpp
  void install_openai_routes();  // openai_routes.cpp
  // The runtime serving OpenAI model name `name` (a model directory's basename or its
  // path as given), loaded on first use. Errors: not_found for an unknown name, load errors.
  Result<std::pair<std::string, actors::Runtime*>> openai_model(const std::string& name);
  void reap_sessions();  // session_reaper's loop
  // Answers an OpenAI completion from a cluster node (openai_routes.cpp); `slot` is held
  // until the reply is written.
  void relay(const httplib::Request& req, httplib::Response& res, OpenAiRequest parsed,
             OpenAiDeps deps, OpenAiEndpoint endpoint, std::shared_ptr<void> slot);
};

// The OpenAI API's name of a model directory: its basename ("tiny-calc").
std::string model_name(const std::filesystem::path& dir);
// The runtime pool's key of model directory `dir` under the server's runner options.
actors::ModelKey model_key(const ServerOptions& options, const std::filesystem::path& dir);
// Answers an OpenAI error object ({"error": {"message", "type", "param", "code"}}).
void reply_openai_error(httplib::Response& res, const ApiError& e);

// GET /metrics (metrics_route.cpp).
void install_metrics_route(Server::Impl& impl);

}  // namespace agentrt::api
