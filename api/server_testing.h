// A Server on a free loopback port over a temporary data directory, with tiny-calc and the
// example workflows, for api/ tests. Test-only.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "api/server.h"

namespace agentrt::api::testing {

inline std::filesystem::path source_dir() {
  return AGENTRT_SOURCE_DIR;
}

// The directories fresh_dir made, removed when the test process exits (each is a few MB
// of RocksDB files; left behind, repeated runs fill the disk).
class ScratchDirs {
 public:
  static ScratchDirs& get() {
    static ScratchDirs dirs;
    return dirs;
  }
  void add(const std::filesystem::path& d) { dirs_.push_back(d); }
  ~ScratchDirs() {
    std::error_code ec;
    for (const auto& d : dirs_)
      std::filesystem::remove_all(d, ec);
  }

 private:
  std::vector<std::filesystem::path> dirs_;
};

inline std::filesystem::path fresh_dir(const std::string& name) {
  auto d = std::filesystem::temp_directory_path() /
           ("agentrt-api-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  ScratchDirs::get().add(d);
  return d;
}

inline ServerOptions test_options(const std::filesystem::path& data) {
  ServerOptions o;
  o.port = 0;
  o.data_dir = data;
  o.model_dirs = {source_dir() / "models" / "tiny-calc"};
  o.workflows_dir = source_dir() / "workflows" / "examples";
  o.runner.threads = 1;
  o.runner.kv_blocks = 512;
  o.jobs.max_running_jobs = 2;
  return o;
}

// Runs a server until the object goes.
class RunningServer {
 public:
  explicit RunningServer(ServerOptions o) {
    auto s = Server::create(std::move(o));
    if (!s.ok()) {
      error_ = s.error().message;
      return;
    }
    server_ = std::move(*s);
    thread_ = std::thread([this] { server_->run(); });
  }
  ~RunningServer() { stop(); }
  void stop() {
    if (!server_) return;
    server_->stop();
    if (thread_.joinable()) thread_.join();
    server_.reset();
  }
  bool ok() const { return server_ != nullptr; }
  const std::string& error() const { return error_; }
  int port() const { return server_->port(); }
  std::vector<std::string> problems() const { return server_->startup_problems(); }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port());
    c.set_read_timeout(120, 0);
    return c;
  }

 private:
  std::unique_ptr<Server> server_;
  std::thread thread_;
  std::string error_;
};

inline nlohmann::json body_of(const httplib::Result& r) {
  if (!r) return nlohmann::json();
  return nlohmann::json::parse(r->body, nullptr, false);
}

// Polls GET /v1/jobs/{id} until the job is finished (or `limit` passes).
inline nlohmann::json wait_finished(httplib::Client& c, const std::string& id,
                                    std::chrono::seconds limit = std::chrono::seconds(300)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  for (;;) {
    auto j = body_of(c.Get("/v1/jobs/" + id));
    const std::string s = j.is_object() ? j.value("state", "") : "";
    if (s == "succeeded" || s == "failed" || s == "cancelled") return j;
    if (std::chrono::steady_clock::now() > end) return j;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace agentrt::api::testing
