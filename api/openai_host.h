// OpenAiHost: the OpenAI API's calls outside the HTTP server, for a cluster node
// (cluster/node_completions.h): a request body in, OpenAiCall's reply bytes out, on one
// runtime, with the same outputs as `agentrt serve`'s own routes. It owns the node's agent
// session pins (SessionTable) and the thread that ends them past their TTL.
// Threads: start() and the calls it returns may be used from any thread, one thread per call.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "actors/runtime.h"
#include "api/metrics.h"
#include "api/openai_run.h"
#include "api/session_table.h"

namespace agentrt::api {

// One call, as the coordinator's server received it.
struct OpenAiHostCall {
  OpenAiEndpoint endpoint = OpenAiEndpoint::chat;
  std::string body;                           // the request's JSON
  std::string model;                          // the name replies carry
  std::string client;                         // API key name, "" without keys
  std::optional<std::string> session_header;  // X-Agentrt-Session
  std::optional<bool> enable_thinking;        // the server's default
};

class OpenAiHost {
 public:
  // `runtime` must outlive the host.
  explicit OpenAiHost(actors::Runtime* runtime, SessionOptions sessions = {});
  // Stops the session reaper; the pins' requests end with the runtime.
  ~OpenAiHost();
  OpenAiHost(const OpenAiHost&) = delete;
  OpenAiHost& operator=(const OpenAiHost&) = delete;

  // Parses the body and starts the call (OpenAiCall::start). Errors: those the server
  // answers before a reply begins (an invalid body, an overloaded engine), as its ApiError.
  ApiOr<std::unique_ptr<OpenAiCall>> start(const OpenAiHostCall& call);
  const ServerMetrics& metrics() const { return metrics_; }
  // The agent sessions paused on this node (their KV pinned), most recent last.
  std::vector<PausedTurn> paused() const { return sessions_.paused(); }
  actors::Runtime& runtime() const { return *runtime_; }

 private:
  void reap();

  actors::Runtime* runtime_;
  SessionTable sessions_;
  ServerMetrics metrics_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false;  // guarded by mu_
  std::thread reaper_;
};

}  // namespace agentrt::api
