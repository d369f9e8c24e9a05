// OpenAiCall: one POST /v1/chat/completions or /v1/completions, from a parsed body to the
// reply. start() renders and tokenizes the prompt, releases the conversation's session pin,
// submits the n choices and waits for the first event, so every error up to admission is
// an HTTP status; run() then streams chunks (SSE) or writes the whole reply, pins the KV of
// a reply that ends in tool calls (agent sessions), and records the request's metrics.
// Threads: one HTTP worker calls start() then run().
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/runtime.h"
#include "api/body/openai_request.h"
#include "api/body/openai_response.h"
#include "api/metrics.h"
#include "api/openai_choice.h"
#include "api/session_table.h"

namespace agentrt::api {

// How long a request may wait for its first event (queue wait and prefill), and the silence
// after which a waiting reply writes a heartbeat (whitespace, or an SSE comment). OpenAiCall
// and the relay of a worker's reply (openai_relay.h) both use them.
inline constexpr auto kFirstEventWait = std::chrono::minutes(10);
inline constexpr auto kHeartbeat = std::chrono::seconds(2);

struct OpenAiDeps {
  actors::Runtime* runtime = nullptr;
  std::string model;  // the name replies carry
  SessionTable* sessions = nullptr;
  ServerMetrics* metrics = nullptr;
  std::string client;                         // API key name, "" without keys
  std::optional<bool> enable_thinking;        // the server's default
  std::optional<std::string> session_header;  // X-Agentrt-Session
};

// Writes reply bytes; false when the client has gone (the call then cancels its work).
using ReplyWriter = std::function<bool(const std::string&)>;

// What a cluster routes a call by (docs/cluster.md): the prompt's tokens as the engine gets
// them, and the conversation's session key ("" for none: a completion without a session).
struct OpenAiRouteKey {
  std::vector<std::int32_t> prompt;
  std::string session_key;
};

class OpenAiCall {
 public:
  static ApiOr<std::unique_ptr<OpenAiCall>> start(OpenAiRequest req, OpenAiDeps deps);
  // Renders and tokenizes the prompt as start() does, without submitting it. Errors: those
  // start() gives before admission (an invalid prompt, tools without a tool-call format).
  static ApiOr<OpenAiRouteKey> route_key(OpenAiRequest req, OpenAiDeps deps);
  // Whether run() wrote `bytes` only to keep the connection alive (whitespace before a
  // whole reply, an SSE comment): a relay may drop them.
  static bool heartbeat(const std::string& bytes);
  ~OpenAiCall();
  bool streaming() const { return req_.stream; }
  // Runs to the end: SSE chunks and "data: [DONE]" when streaming, else one JSON object
  // (preceded by whitespace heartbeats while it waits, so a gone client is noticed).
  void run(const ReplyWriter& write);

  struct Choice;

 private:
  OpenAiCall(OpenAiRequest req, OpenAiDeps deps);
  ApiOr<bool> prepare();
  ApiOr<bool> submit();
  std::string session_key() const;
  // Takes one event; false when the client has gone.
  bool handle(actors::CompletionEvent& e, const ReplyWriter& write);
  bool emit_delta(Choice& c, int index, ChoiceDelta d, const ReplyWriter& write);
  bool emit(const nlohmann::json& chunk, const ReplyWriter& write);  // one SSE data frame
  void keep_or_release(Choice& c);
  bool continue_with_call(Choice& c, const actors::CompletionEvent& e);
  openai::ReplyHead head() const;
  nlohmann::json usage() const;
  void observe(bool gone);

  OpenAiRequest req_;
  OpenAiDeps deps_;
  std::vector<std::int32_t> prompt_;
  std::vector<PromptSegment> segments_;  // kv_reuse blend: each message's content
  std::string forced_prefix_;            // in the prompt (n > 1)
  std::string late_force_;               // appended when a reply ends without a call (n == 1)
  bool prompt_ends_thinking_ = false;    // the rendered prompt opened <think> itself
  bool parse_tools_ = false;
  std::string session_key_;
  std::shared_ptr<actors::CompletionStream> stream_;
  std::vector<std::unique_ptr<Choice>> choices_;
  std::optional<actors::CompletionEvent> first_;
  std::string id_;
  std::int64_t created_ = 0;
  std::int64_t cached_tokens_ = 0;
  std::chrono::steady_clock::time_point arrived_;
  std::optional<std::chrono::steady_clock::time_point> first_token_at_;
};

}  // namespace agentrt::api
