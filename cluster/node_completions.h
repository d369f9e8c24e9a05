// NodeCompletions: the OpenAI completions a coordinator routes to this node (wire.h's
// CompletionCall), each run on its own thread through api::OpenAiHost on the node's engine,
// so a reply has the bytes `agentrt serve` would write. The reply goes back as
// CompletionPart messages through `send`: one head, the bytes (without heartbeats), one end;
// or one error before the reply began.
// The coordinator's own engine (local_engine.h) runs its calls the same way, each started by
// a closure of the server's instead of the host.
// Threads: start(), cancel() and running() from one thread (the node actor); `send` is called
// from the calls' threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <thread>

#include "api/openai_host.h"
#include "cluster/wire.h"

namespace agentrt::cluster {

class NodeCompletions {
 public:
  using SendFn = std::function<void(CompletionPart)>;
  // Starts one call as the HTTP route would (its errors are those before the reply began).
  using StartFn = std::function<api::ApiOr<std::unique_ptr<api::OpenAiCall>>()>;
  // `host` must outlive this object.
  NodeCompletions(api::OpenAiHost& host, SendFn send);
  // Without a host: every call comes with its StartFn.
  explicit NodeCompletions(SendFn send);
  // Cancels every call and waits for its thread.
  ~NodeCompletions();
  NodeCompletions(const NodeCompletions&) = delete;
  NodeCompletions& operator=(const NodeCompletions&) = delete;

  // Runs `call` on a new thread, through the host. A call with the id of a running one
  // replaces it.
  void start(CompletionCall call);
  // The same, started by `start_fn` (the body and model in `call` are not read).
  void start(CompletionCall call, StartFn start_fn);
  // Stops the call's reply (seen at its next write, at most ~2.5 s later) and sends nothing
  // more for it. Unknown ids and other attempts are ignored.
  void cancel(std::uint64_t id, std::int32_t attempt);
  // Calls whose thread has not ended.
  int running() const;

 private:
  struct Run {
    std::int32_t attempt = 0;
    std::atomic<bool> cancelled{false};
    std::atomic<bool> ended{false};
    std::thread thread;
  };
  void execute(const CompletionCall& call, const StartFn& start_fn, Run& run);
  void join_ended();

  api::OpenAiHost* host_ = nullptr;
  SendFn send_;
  std::map<std::uint64_t, std::unique_ptr<Run>> runs_;
};

}  // namespace agentrt::cluster
