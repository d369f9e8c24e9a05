// RemoteCompletions: another place the OpenAI routes can run a completion instead of the
// server's own engine: a cluster's nodes (cluster/coordinator.h), wired in by `agentrt serve
// --cluster-port`. The server still parses, validates and renders the request first (its
// errors are the same), and routes by the rendered prompt (docs/cluster.md).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "api/body/openai_request.h"
#include "api/openai_run.h"
#include "engine/kv/block_key.h"

namespace agentrt::api {

struct RemoteCompletion {
  OpenAiEndpoint endpoint = OpenAiEndpoint::chat;
  std::string body;   // the client's JSON, as received
  std::string model;  // the name replies carry
  std::string client;
  std::optional<std::string> session_header;  // X-Agentrt-Session
  std::optional<bool> enable_thinking;        // the server's default
  // Routing: the chained keys of the prompt's full blocks (prefix_aware), the conversation's
  // session key (program_affinity; "" for none) and the prompt's length.
  std::vector<kv::BlockKey> blocks;
  std::string program;
  std::int64_t prompt_tokens = 0;
  // Starts the call on this server's own engine, as the local route does: for a cluster
  // whose router may pick the server itself (`--cluster-local-engine`). May be called more
  // than once (each an attempt), from any thread.
  std::function<ApiOr<std::unique_ptr<OpenAiCall>>()> run_here;
};

// One piece of a remote reply, in order: head (admitted; `node` names where it runs),
// bytes, then end; or error (`status`, `bytes` the OpenAI error object) at any point. After
// a head, another head means the call moved to another node before any bytes came (the
// first node died); an error after a head means the reply broke off.
struct RemotePart {
  enum class Kind { head, error, bytes, end };
  Kind kind = Kind::head;
  int status = 200;
  std::string bytes;
  std::string node;
};

class RemoteCompletions {
 public:
  virtual ~RemoteCompletions() = default;
  // Whether a completion started now runs remotely (some node is live). Any thread.
  virtual bool available() const = 0;
  // Starts `c`; `sink` gets its parts in order, from another thread, ending with exactly
  // one end or error. Returns the id cancel() takes. Any thread.
  virtual std::uint64_t start(RemoteCompletion c, std::function<void(RemotePart)> sink) = 0;
  // Stops a completion (the client went away); its sink gets nothing more. Any thread.
  virtual void cancel(std::uint64_t id) = 0;
};

}  // namespace agentrt::api
