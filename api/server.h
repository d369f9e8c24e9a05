// Server: `agentrt serve`. It opens the data directory (one RocksDB: jobs, events,
// checkpoints and KV blocks), builds the runtime pool with the persistent KV tier, resumes
// unfinished jobs, and serves the REST API (docs/api.md) with cpp-httplib.
// Threads: run() blocks the calling thread until stop(); stop() may be called from any
// thread (a signal watcher) and returns once every job is checkpointed and the store is
// flushed.
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/workflow/workflow_runner.h"
#include "api/job_manager.h"
#include "api/remote_completions.h"
#include "api/session_table.h"
#include "engine/common/result.h"
#include "engine/kv/kv_events.h"
#include "engine/kv/segment_anchors.h"
#include "engine/scheduler/scheduler.h"

namespace agentrt::api {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port (port() tells which)
  std::filesystem::path data_dir = "agentrt-data";
  // Model directories workflows may use; the first is the default model. Required.
  std::vector<std::filesystem::path> model_dirs;
  std::filesystem::path workflows_dir;     // {"workflow": NAME}; empty: data_dir/workflows
  std::filesystem::path api_key_file;      // required unless host is a loopback address
  actors::workflow::RunnerOptions runner;  // backend, kv_blocks, threads, weight check
  JobManagerOptions jobs;                  // limits (dirs are filled from the above)
  std::uint64_t kv_store_max_bytes = 0;    // 0: kDefaultKvStoreBytes
  // RAM for KV blocks evicted from the device; unset: RuntimeOptions' default; 0: none.
  std::optional<std::size_t> host_tier_bytes;
  int http_threads = 64;  // request workers besides event streams
  // OpenAI completions in flight at once (each holds a worker while it streams); past it a
  // request gets 429 at once. 0: http_threads - 8, so workers stay free to answer that.
  int max_completions = 0;
  // The OpenAI API: the chat template's enable_thinking when a request does not set
  // chat_template_kwargs (nullopt: the template's default), and agent-session pins.
  std::optional<bool> enable_thinking;
  SessionOptions sessions;
  // The engine's queue order (engine/scheduler/scheduler.h): attained (default), program
  // or fcfs.
  scheduler::Order order = scheduler::Order::attained;
  // EngineOptions::blend_anchors and ::anchors (serve --blend-anchors, --blend-anchor-*).
  bool blend_anchors = false;
  kv::AnchorOptions anchors;
  // A cluster's nodes: while one is live, OpenAI completions run there (openai_relay.h),
  // else on the server's own engine. Null: always local.
  std::shared_ptr<RemoteCompletions> remote_completions;
  // Told the engines' KV events (EngineOptions::kv_events): a cluster's router indexes the
  // server's own engine with them (`--cluster-local-engine`). Empty: none.
  kv::KvEventListener kv_events;
  // Stands in front of each model's engine actor (actors::RuntimeOptions::engine_front): a
  // cluster coordinator routing agent turns to its workers (`--cluster-route turns`).
  std::function<caf::actor(const actors::EngineFrontContext&)> engine_front;
  // A cluster's nodes and counters for GET /metrics (api/cluster_metrics.h); called on HTTP
  // threads. Empty: no cluster section.
  std::function<ClusterMetrics()> cluster_metrics;
};

// The KV snapshot store's default size bound (least recently used blocks go past it).
inline constexpr std::uint64_t kDefaultKvStoreBytes = 16ull << 30;

// Whether `host` is a loopback address (127.0.0.0/8, ::1, localhost).
bool is_loopback(const std::string& host);

class Server {
 public:
  // Everything up to a bound port: a non-loopback host without keys, an unusable data or
  // model directory, a port in use are errors here.
  static Result<std::unique_ptr<Server>> create(ServerOptions options);
  ~Server();
  int port() const;
  // What opening the data directory dropped or repaired, one line each ("job j-...: job is
  // damaged: checksum mismatch"); also logged.
  std::vector<std::string> startup_problems() const;
  // The loaded engines' metrics now, one per model (load for a cluster's router). Any thread.
  std::vector<actors::RuntimeMetrics> engine_metrics() const;
  // Serves until stop().
  void run();
  // Stops taking requests and jobs, interrupts the running ones (they resume on the next
  // start), flushes KV to the store and the store to disk.
  void stop();

  struct Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace agentrt::api
