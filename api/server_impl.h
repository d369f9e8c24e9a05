// Server::Impl: the pieces behind the server, shared by server.cpp (lifecycle) and
// http_routes.cpp (handlers). Internal to api/.
#pragma once

#include <httplib.h>

#include <atomic>
#include <optional>

#include "actors/runtime_pool.h"
#include "api/api_keys.h"
#include "api/server.h"
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
  std::atomic<int> streams{0};  // event streams open
  std::atomic<bool> stopped{false};
  std::vector<std::string> problems;  // startup_problems()

  void install_routes();  // http_routes.cpp
};

}  // namespace agentrt::api
