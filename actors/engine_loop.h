// EngineLoop: the engine actor's thread. It owns one Engine and runs its step loop on a
// std::thread of its own (never one message per step): it sleeps while the engine has no
// work, steps while it has, and sends each step's tokens to the subscribed actors as one
// TokenBatch per request. It also applies the two per-token decisions that must not wait
// for a message round trip: pausing a turn at its EOS (so no token follows it), and
// forking a best-of-N prompt right after its single prefill.
// Threads: submit/resume/cancel/metrics from any thread (the engine actor calls them).
#pragma once

#include <caf/all.hpp>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "actors/messages.h"
#include "actors/runtime.h"
#include "engine/engine.h"

namespace agentrt::actors {

class EngineLoop {
 public:
  // Starts the loop thread. `engine` must outlive nothing but this loop. `on_prefill`
  // (optional) receives each step's prefilled tokens and seconds (the TTL policy's
  // recompute cost).
  EngineLoop(std::unique_ptr<Engine> engine, std::vector<std::int32_t> eos_ids,
             int max_live_requests, KvGeometry geometry,
             std::function<void(std::int64_t, double)> on_prefill);
  ~EngineLoop();  // stops and joins the thread; live requests get no further events

  // Adds a request (and its subscribers). Errors: overloaded (live requests at the bound),
  // the Engine's add_request errors.
  Result<RequestId> submit(GenerateMsg msg);
  // Continues a paused request (at EOS or by pause()). Errors: not paused, unknown id.
  Status resume(ResumeMsg msg);
  // Pauses a live request now (its KV pinned for ttl); it may be resumed. Errors: unknown id.
  Status pause(RequestId id, kv::Duration ttl);
  // Forks a live request; the child (sharing its KV copy-on-write) streams to subscriber.
  // Errors: unknown id, overloaded.
  Result<RequestId> fork(RequestId parent, caf::actor subscriber);
  void cancel(RequestId id);
  RuntimeMetrics metrics() const;

 private:
  struct Route {
    caf::actor subscriber;
    std::optional<kv::Duration> pause_at_eos;
    int forks = 0;  // still to fork after the first token
    std::vector<caf::actor> fork_subscribers;
    bool paused = false;
    std::int64_t tokens = 0;  // prompt + generated + appended: its KV footprint
    // A best-of-N probe: at its first token, these samples start (one per subscriber).
    std::optional<EngineRequest> samples;
  };

  void run();
  void route_events(std::vector<EngineEvent>& events);
  // Adds a token event to b; pauses at EOS. Returns whether the request ended.
  bool take_token(const EngineEvent& e, Route& r, TokenBatch& b);
  // A probe's first token: adds its samples (holds mu_).
  void start_samples(Route& probe, std::vector<std::pair<caf::actor, TokenBatch>>& out);
  Result<RequestId> submit_probe(GenerateMsg& msg);  // holds mu_
  void fail_all(const Error& error);
  void update_snapshot(const EngineStats& stats, double step_s, double loop_s);  // holds mu_
  void wake();
  bool is_eos(std::int32_t t) const;

  std::unique_ptr<Engine> engine_;
  std::vector<std::int32_t> eos_;
  int max_live_;
  KvGeometry geo_;
  std::function<void(std::int64_t, double)> on_prefill_;

  mutable std::mutex mu_;  // guards routes_, pending_, stop_, snapshot_
  std::condition_variable cv_;
  std::unordered_map<RequestId, Route> routes_;
  bool pending_ = false;
  bool stop_ = false;
  RuntimeMetrics snapshot_;
  std::thread thread_;
};

}  // namespace agentrt::actors
