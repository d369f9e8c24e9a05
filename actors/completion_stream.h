// CompletionStream: the tokens of one raw completion (the OpenAI API's path), n choices of
// one prompt, as events a plain thread can wait for. Runtime::start_completion makes it;
// the engine loop's batches reach it through one small sink actor per choice.
// Threads: next() on one consumer thread; cancel() and the producers from any thread.
#pragma once

#include <caf/all.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <vector>

#include "engine/engine.h"
#include "engine/kv/clock.h"
#include "engine/sampling/sampler.h"

namespace agentrt::actors {

struct TokenBatch;

struct CompletionToken {
  std::int32_t token = 0;
  float logprob = 0.0f;
  std::vector<sampling::TokenLogprob> top;  // params.logprobs > 0
};

// What one engine step produced for one choice.
struct CompletionEvent {
  int choice = 0;
  RequestId request = 0;  // the engine request of this choice (0 while it waits for a slot)
  std::vector<CompletionToken> tokens;
  std::optional<FinishReason> finish;  // the choice ended (stop_token also when paused)
  bool paused = false;  // ended at EOS by pausing: its KV is pinned until cancel_request
  bool cancelled = false;
  std::optional<Error> error;       // the choice failed; it is gone
  std::int64_t cached_tokens = -1;  // on a choice's first token: prompt tokens from cache
  // Whether this is the choice's last event.
  bool ends() const { return finish.has_value() || cancelled || error.has_value(); }
};

struct CompletionRequest {
  EngineRequest request;  // the prompt and sampling (stop strings are the caller's)
  int n = 1;              // > 1: the prompt is prefilled once, then n independent samples
  // An EOS ends each choice by pausing with this TTL (KV pinned) instead of freeing it.
  std::optional<kv::Duration> pause_at_eos;
};

class CompletionStream {
 public:
  explicit CompletionStream(int n);
  // Waits for the next event until `deadline`. Returns false on timeout, or once every
  // choice has ended and its events were taken.
  bool next(CompletionEvent& out, std::chrono::steady_clock::time_point deadline);
  // Ends every choice still running or waiting; their KV is released (a paused choice's
  // is not: cancel it by id). Idempotent.
  void cancel();
  int choices() const { return n_; }

  // --- producers (Runtime) ---
  void push(int choice, const TokenBatch& batch);
  void push_error(int choice, const Error& error);
  // How to cancel one choice: by engine request id, or (id 0) while it waits for a slot.
  void set_canceller(std::function<void(int choice, RequestId id)> cancel);

 private:
  const int n_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<CompletionEvent> events_;
  std::vector<RequestId> ids_;
  std::vector<bool> ended_;
  int open_;
  bool cancelled_ = false;
  std::function<void(int, RequestId)> cancel_;
};

}  // namespace agentrt::actors
