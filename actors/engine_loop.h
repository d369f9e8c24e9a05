// EngineLoop: the engine actor's thread. It owns one Engine and runs its step loop on a
// std::thread of its own (never one message per step): it sleeps while the engine has no
// work, steps while it has, and sends each step's tokens to the subscribed actors as one
// TokenBatch per request. It forks a best-of-N prompt right after its single prefill (a
// decision that must not wait for a message round trip). The Engine owns the pause: a
// turn that should wait for tools (GenerateMsg::pause_at_eos) becomes the request's
// EngineRequest::pause_on_finish with pause_only_at_stop, so the Engine pauses it at its
// stop token within the step that sampled it; the loop only routes the finish as a pause.
// Back-pressure: at most max_live_requests requests are in the Engine at once. Work beyond
// that waits, first come first served: submits in a queue of at most max_queued_requests
// (past it, submit is refused as overloaded), and a best-of probe's samples, which start
// one by one as slots free (ahead of the queued submits: their prompt is in the cache).
// Threads: submit/resume/cancel/metrics from any thread (the engine actor calls them).
#pragma once

#include <caf/all.hpp>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
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
  EngineLoop(std::unique_ptr<Engine> engine, int max_live_requests, KvGeometry geometry,
             std::function<void(std::int64_t, double)> on_prefill,
             int max_queued_requests = kDefaultMaxQueuedRequests);
  ~EngineLoop();  // stops and joins the thread; live requests get no further events

  // Adds a request (and its subscribers) now, or queues it while max_live_requests are
  // live: then it returns 0 and each subscriber learns its request id from its first
  // TokenBatch (a request that fails at admission gets a TokenBatch with the error). A
  // fork_after_prefill of more than max_live_requests - 1 runs as samples_after_prefill
  // (independent samples) so it never needs more slots than exist. Errors: overloaded
  // (max_queued_requests submits wait already), invalid_argument (subscriber count), the
  // Engine's add_request errors when admitted at once.
  Result<RequestId> submit(GenerateMsg msg);
  // Withdraws `subscriber` from work not yet in the Engine: a queued submit, a waiting
  // best-of sample, a probe or fork parent's samples to come. It then gets a TokenBatch
  // with cancelled set and id 0. Returns whether it was found (else its request is live:
  // cancel it by id).
  bool cancel_waiting(const caf::actor& subscriber);
  // Continues a paused request (at EOS or by pause()). Errors: not paused, unknown id.
  Status resume(ResumeMsg msg);
  // Pauses a live request now (its KV pinned for ttl); it may be resumed. Errors: unknown id.
  Status pause(RequestId id, kv::Duration ttl);
  // Re-pins a paused request's KV for ttl (Engine::repin: a lapsed pin's blocks come back
  // from the host tier). Errors: not paused, unknown id.
  Status repin(RequestId id, kv::Duration ttl);
  // Queues a workflow planner's reuse hint (Engine::hint_reuse: the full blocks of `tokens`
  // are next used in `steps` steps; steps < 0 drops `owner`'s hint; with `prefetch`, blocks
  // only a lower tier holds come back to the device). Applied on the loop thread between
  // steps, in the order given.
  void hint_reuse(kv::HintOwner owner, std::vector<std::int32_t> tokens, std::int32_t steps,
                  bool prefetch);
  // Takes Engine::kv_snapshot(max) on the loop thread between steps and hands it to `sink`
  // there, so the sink hears it after every KV event before it and before any after it.
  // Dropped when the loop stops first. `sink` must be quick.
  void kv_snapshot(std::size_t max, std::function<void(std::vector<kv::KvHeldBlock>)> sink);
  // Forks a live request; the child (sharing its KV copy-on-write) streams to subscriber.
  // Errors: unknown id, overloaded.
  Result<RequestId> fork(RequestId parent, caf::actor subscriber);
  void cancel(RequestId id);
  // Runs Engine::flush_persistent() on the loop thread, between steps, and waits for it.
  // Errors: those of flush_persistent; cancelled when the loop stops first.
  Status flush_kv();
  RuntimeMetrics metrics() const;

 private:
  // How the Engine ends a request's turns, as the loop must read their finishes: the Engine
  // pauses the request (EngineRequest::pause_on_finish), so a finish reads as a pause and
  // the route stays.
  struct PauseRule {
    bool on_finish = false;     // the request has a pause_on_finish now
    bool only_at_stop = false;  // EngineRequest::pause_only_at_stop
    // From GenerateMsg::pause_at_eos: each ResumeMsg sets the next turn's pause.
    bool set_by_resume = false;
    bool pauses(std::optional<FinishReason> f) const {
      return on_finish && f && *f != FinishReason::context_full &&
             (!only_at_stop || *f == FinishReason::stop_token);
    }
  };
  static PauseRule rule_of(const GenerateMsg& msg) {
    return {msg.request.pause_on_finish.has_value(), msg.request.pause_only_at_stop,
            msg.pause_at_eos.has_value()};
  }

  struct Route {
    caf::actor subscriber;
    PauseRule pause;
    int forks = 0;  // still to fork after the first token
    std::vector<caf::actor> fork_subscribers;
    bool paused = false;
    std::int64_t tokens = 0;  // prompt + generated + appended: its KV footprint
    // A best-of-N probe: at its first token, these samples start (one per subscriber).
    std::optional<EngineRequest> samples;
  };

  // Samples of a prefilled probe that wait for live slots; they start one by one.
  struct WaitingSamples {
    std::shared_ptr<const EngineRequest> request;
    PauseRule pause;
    std::int64_t tokens = 0;
    std::uint64_t next_index = 0;  // seeds: derive_seed(seed, index)
    std::deque<caf::actor> subscribers;
  };
  using Outbox = std::vector<std::pair<caf::actor, TokenBatch>>;

  void run();
  void run_flushes();    // the loop thread: answers the waiting flush_kv() calls
  void run_hints();      // the loop thread: applies the queued reuse hints
  void run_snapshots();  // the loop thread: answers the queued kv_snapshot() calls
  Result<RequestId> admit(GenerateMsg& msg);  // holds mu_
  // Starts waiting samples, then queued submits, while slots are free (holds mu_).
  void admit_waiting(Outbox& out);
  int free_slots() const;  // holds mu_
  void count_waiting();    // holds mu_: the snapshot's queued_requests
  void route_events(std::vector<EngineEvent>& events);
  // Adds a token event to b; pauses at EOS. Returns whether the request ended.
  bool take_token(const EngineEvent& e, Route& r, TokenBatch& b);
  // A probe's first token: adds its samples (holds mu_).
  void start_samples(Route& probe);
  Result<RequestId> submit_probe(GenerateMsg& msg);  // holds mu_
  void fail_all(const Error& error);
  void update_snapshot(const EngineStats& stats, double step_s, double loop_s);  // holds mu_
  void wake();

  std::unique_ptr<Engine> engine_;
  int max_live_;
  int max_queued_;
  KvGeometry geo_;
  std::function<void(std::int64_t, double)> on_prefill_;

  mutable std::mutex mu_;  // guards routes_, the queues, flushes_, pending_, stop_, snapshot_
  std::condition_variable cv_;
  std::unordered_map<RequestId, Route> routes_;
  std::deque<GenerateMsg> queued_;             // submits waiting for slots, oldest first
  std::deque<WaitingSamples> samples_wait_;    // probes' samples waiting for slots
  std::vector<std::promise<Status>> flushes_;  // flush_kv() calls waiting for the loop
  struct Hint {
    kv::HintOwner owner = 0;
    std::vector<std::int32_t> tokens;
    std::int32_t steps = 0;
    bool prefetch = false;
  };
  std::vector<Hint> hints_;  // hint_reuse() calls waiting for the loop
  struct SnapshotCall {
    std::size_t max = 0;
    std::function<void(std::vector<kv::KvHeldBlock>)> sink;
  };
  std::vector<SnapshotCall> snapshots_;  // kv_snapshot() calls waiting for the loop
  bool pending_ = false;
  bool stop_ = false;
  RuntimeMetrics snapshot_;
  std::thread thread_;
};

}  // namespace agentrt::actors
