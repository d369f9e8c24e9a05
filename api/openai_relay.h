// OpenAiRelay: one OpenAI completion run by a cluster node (RemoteCompletions), from the
// HTTP handler's side. start() submits it and waits for the node's head, so an error before
// the reply begins is an HTTP status as on the local path; run() writes the node's reply
// bytes as they come, with heartbeats while it waits.
// A node that dies before any reply bytes: the coordinator runs the call again on another
// node. After some bytes: the reply ends with an error (an SSE error event and [DONE], or
// an OpenAI error object in place of a whole reply).
// Threads: one HTTP worker calls start() then run().
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "api/openai_run.h"
#include "api/remote_completions.h"

namespace agentrt::api {

class OpenAiRelay {
 public:
  // Errors: the node's (or the coordinator's) error before the reply began; 503 when no
  // head came within the first-event wait.
  static ApiOr<std::shared_ptr<OpenAiRelay>> start(RemoteCompletions& remote, RemoteCompletion c,
                                                   bool stream);
  // Cancels the remote call if run() has not seen its end.
  ~OpenAiRelay();
  const std::string& node() const { return node_; }
  // Runs to the end of the reply (see above).
  void run(const ReplyWriter& write);

 private:
  struct Inbox {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<RemotePart> parts;
  };
  OpenAiRelay(RemoteCompletions& remote, bool stream);
  // The next part, or nullopt when none came before `deadline`.
  std::optional<RemotePart> next(std::chrono::steady_clock::time_point deadline);

  RemoteCompletions& remote_;
  bool stream_;
  std::shared_ptr<Inbox> inbox_ = std::make_shared<Inbox>();
  std::uint64_t id_ = 0;
  bool ended_ = false;
  std::string node_;
};

// The ApiError of a node's OpenAI error object and HTTP status.
ApiError relayed_error(int status, const std::string& body);

}  // namespace agentrt::api
