// EngineLoop: the step loop thread and its routing of events to subscribers.
#include "actors/engine_loop.h"

#include <algorithm>
#include <chrono>

#include "engine/sampling/sampling_params.h"

namespace agentrt::actors {
EngineLoop::EngineLoop(std::unique_ptr<Engine> engine, int max_live_requests, KvGeometry geometry,
                       std::function<void(std::int64_t, double)> on_prefill,
                       int max_queued_requests)
    : engine_(std::move(engine)),
      max_live_(std::max(1, max_live_requests)),
      max_queued_(std::max(0, max_queued_requests)),
      geo_(geometry),
      on_prefill_(std::move(on_prefill)) {
  snapshot_.kv = engine_->kv_metrics();
  snapshot_.kv_blocks = geo_.num_blocks;
  snapshot_.kv_available_blocks = geo_.num_blocks;
  thread_ = std::thread([this] { run(); });
}

EngineLoop::~EngineLoop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  for (auto& f : flushes_)  // asked for after the loop's last look
    f.set_value(make_error(ErrorCode::cancelled, "KV flush: the engine loop has stopped"));
}

void EngineLoop::wake() {
  pending_ = true;
  cv_.notify_all();
}

namespace {

// Live slots a submit takes when admitted: a probe 1 (its samples come later, one by one),
// a forked request 1 + forks.
int slots_of(const GenerateMsg& m) {
  return m.samples_after_prefill > 0 ? 1 : 1 + m.fork_after_prefill;
}

TokenBatch error_batch(RequestId id, Error why) {
  return TokenBatch{id, {}, {}, std::nullopt, false, false, std::move(why)};
}

}  // namespace

int EngineLoop::free_slots() const {
  return max_live_ - static_cast<int>(routes_.size());
}

Result<RequestId> EngineLoop::submit(GenerateMsg msg) {
  const int samples =
      msg.samples_after_prefill > 0 ? msg.samples_after_prefill : msg.fork_after_prefill + 1;
  if (msg.subscribers.size() != static_cast<std::size_t>(samples) ||
      (msg.samples_after_prefill > 0 && msg.fork_after_prefill > 0) || msg.fork_after_prefill < 0) {
    return make_error(ErrorCode::invalid_argument, "generate: need one subscriber per sample");
  }
  if (msg.fork_after_prefill + 1 > max_live_) {  // could never be admitted whole
    msg.samples_after_prefill = msg.fork_after_prefill + 1;
    msg.fork_after_prefill = 0;
  }
  if (msg.pause_at_eos) {  // the Engine pauses the turn at its stop token
    msg.request.pause_on_finish = msg.pause_at_eos;
    msg.request.pause_only_at_stop = true;
  }
  std::lock_guard lock(mu_);
  if (queued_.empty() && samples_wait_.empty() && slots_of(msg) <= free_slots()) return admit(msg);
  if (static_cast<int>(queued_.size()) >= max_queued_) {
    ++snapshot_.rejected_requests;
    return make_error(ErrorCode::overloaded,
                      "engine overloaded: " + std::to_string(routes_.size()) +
                          " live requests (max_pending_requests " + std::to_string(max_live_) +
                          ") and " + std::to_string(queued_.size()) +
                          " queued (max_queued_requests " + std::to_string(max_queued_) +
                          "); retry later");
  }
  queued_.push_back(std::move(msg));
  count_waiting();
  return RequestId{0};
}

Result<RequestId> EngineLoop::admit(GenerateMsg& msg) {
  if (msg.samples_after_prefill > 0) return submit_probe(msg);
  const auto prompt_tokens = std::ssize(msg.request.prompt);
  const PauseRule rule = rule_of(msg);
  auto id = engine_->add_request(std::move(msg.request));
  if (!id.ok()) return id.error();
  Route r;
  r.subscriber = msg.subscribers[0];
  r.pause = rule;
  r.forks = msg.fork_after_prefill;
  r.fork_subscribers.assign(msg.subscribers.begin() + 1, msg.subscribers.end());
  r.tokens = prompt_tokens;
  routes_.emplace(*id, std::move(r));
  snapshot_.active_requests = static_cast<int>(routes_.size());
  wake();
  return *id;
}

Result<RequestId> EngineLoop::submit_probe(GenerateMsg& msg) {
  EngineRequest probe = msg.request;
  probe.params.max_tokens = 1;
  probe.pause_on_finish.reset();
  auto id = engine_->add_request(std::move(probe));
  if (!id.ok()) return id.error();
  Route r;
  r.pause = rule_of(msg);  // its samples' (the probe itself never pauses)
  r.fork_subscribers = std::move(msg.subscribers);
  r.tokens = std::ssize(msg.request.prompt);
  r.samples = std::move(msg.request);
  routes_.emplace(*id, std::move(r));
  snapshot_.active_requests = static_cast<int>(routes_.size());
  wake();
  return *id;
}

void EngineLoop::start_samples(Route& probe) {
  WaitingSamples w;
  w.request = std::make_shared<const EngineRequest>(std::move(*probe.samples));
  w.pause = probe.pause;
  w.tokens = probe.tokens;
  w.subscribers.assign(probe.fork_subscribers.begin(), probe.fork_subscribers.end());
  probe.fork_subscribers.clear();
  probe.samples.reset();
  if (!w.subscribers.empty()) samples_wait_.push_back(std::move(w));
}

void EngineLoop::admit_waiting(Outbox& out) {
  while (free_slots() > 0 && !samples_wait_.empty()) {
    WaitingSamples& w = samples_wait_.front();
    EngineRequest req = *w.request;
    // Each sample of a seeded request draws from a seed of its own.
    if (req.params.seed) req.params.seed = sampling::derive_seed(*req.params.seed, w.next_index);
    ++w.next_index;
    caf::actor sub = std::move(w.subscribers.front());
    w.subscribers.pop_front();
    auto id = engine_->add_request(std::move(req));
    if (id.ok()) {
      Route c;
      c.subscriber = sub;
      c.pause = w.pause;
      c.tokens = w.tokens;
      routes_.emplace(*id, std::move(c));
      wake();
    } else {  // e.g. the full max_tokens cannot fit: this sample fails alone
      out.push_back({sub, error_batch(0, id.error())});
    }
    if (w.subscribers.empty()) samples_wait_.pop_front();
  }
  while (!queued_.empty() && samples_wait_.empty() && slots_of(queued_.front()) <= free_slots()) {
    GenerateMsg msg = std::move(queued_.front());
    queued_.pop_front();
    auto subscribers = msg.subscribers;
    auto id = admit(msg);
    if (!id.ok())
      for (auto& sub : subscribers)
        out.push_back({sub, error_batch(0, id.error())});
  }
  count_waiting();  // active_requests follows with the step's KV metrics (update_snapshot)
}

void EngineLoop::count_waiting() {
  std::size_t waiting_samples = 0;
  for (const auto& w : samples_wait_)
    waiting_samples += w.subscribers.size();
  snapshot_.queued_requests = static_cast<int>(queued_.size() + waiting_samples);
}

bool EngineLoop::cancel_waiting(const caf::actor& subscriber) {
  auto drop = [&](auto& subs) {
    auto it = std::find(subs.begin(), subs.end(), subscriber);
    if (it == subs.end()) return false;
    subs.erase(it);
    return true;
  };
  bool found = false;
  {
    std::lock_guard lock(mu_);
    for (auto it = queued_.begin(); !found && it != queued_.end(); ++it) {
      if (!(found = drop(it->subscribers))) continue;
      if (it->samples_after_prefill > 0)
        --it->samples_after_prefill;
      else
        --it->fork_after_prefill;  // the next subscriber becomes the parent
      if (it->subscribers.empty()) queued_.erase(it);
      break;
    }
    for (auto it = samples_wait_.begin(); !found && it != samples_wait_.end(); ++it) {
      if (!(found = drop(it->subscribers))) continue;
      if (it->subscribers.empty()) samples_wait_.erase(it);
      break;
    }
    for (auto& [id, r] : routes_) {
      if (found) break;
      if (!r.samples && r.forks == 0) continue;
      if (!(found = drop(r.fork_subscribers))) continue;
      if (!r.samples)
        --r.forks;
      else if (r.fork_subscribers.empty())
        engine_->cancel(id);  // no sample left to start
    }
    count_waiting();
  }
  if (found) caf::anon_send(subscriber, TokenBatch{0, {}, {}, std::nullopt, false, true, {}});
  return found;
}

Status EngineLoop::resume(ResumeMsg msg) {
  std::lock_guard lock(mu_);
  auto it = routes_.find(msg.id);
  if (it == routes_.end() || !it->second.paused) {
    return make_error(ErrorCode::not_found,
                      "resume: request " + std::to_string(msg.id) + " is not paused at EOS");
  }
  Route& r = it->second;
  r.paused = false;
  r.tokens += std::ssize(msg.appended);
  ResumeOptions options;
  options.max_tokens = msg.max_tokens;
  if (r.pause.set_by_resume) {  // an agent's turn: each resume says how the next one ends
    r.pause.on_finish = msg.pause_at_eos.has_value();
    options.set_pause = true;
    options.pause_on_finish = msg.pause_at_eos;
  }
  if (msg.constraint) {
    options.set_constraint = true;
    options.constraint = std::move(*msg.constraint);
  }
  options.segments = std::move(msg.segments);
  engine_->resume(msg.id, std::move(msg.appended), std::move(options));
  wake();
  return ok_status();
}

Status EngineLoop::pause(RequestId id, kv::Duration ttl) {
  std::lock_guard lock(mu_);
  auto it = routes_.find(id);
  if (it == routes_.end()) {
    return make_error(ErrorCode::not_found,
                      "pause: request " + std::to_string(id) + " is not live");
  }
  it->second.paused = true;
  engine_->pause(id, ttl);
  wake();
  return ok_status();
}

Result<RequestId> EngineLoop::fork(RequestId parent, caf::actor subscriber) {
  std::lock_guard lock(mu_);
  auto it = routes_.find(parent);
  if (it == routes_.end()) {
    return make_error(ErrorCode::not_found,
                      "fork: request " + std::to_string(parent) + " is not live");
  }
  if (static_cast<int>(routes_.size()) + 1 > max_live_) {
    ++snapshot_.rejected_requests;
    return make_error(ErrorCode::overloaded,
                      "engine overloaded: fork refused (max_pending_requests)");
  }
  Route c;
  c.subscriber = std::move(subscriber);
  c.pause = it->second.pause;
  c.paused = it->second.paused;
  c.tokens = it->second.tokens;
  const RequestId child = engine_->fork(parent);
  routes_.emplace(child, std::move(c));
  wake();
  return child;
}

Status EngineLoop::repin(RequestId id, kv::Duration ttl) {
  std::lock_guard lock(mu_);
  auto it = routes_.find(id);
  if (it == routes_.end() || !it->second.paused) {
    return make_error(ErrorCode::not_found,
                      "repin: request " + std::to_string(id) + " is not paused");
  }
  engine_->repin(id, ttl);
  wake();
  return ok_status();
}

void EngineLoop::hint_reuse(kv::HintOwner owner, std::vector<std::int32_t> tokens,
                            std::int32_t steps, bool prefetch) {
  std::lock_guard lock(mu_);
  if (stop_) return;
  hints_.push_back({owner, std::move(tokens), steps, prefetch});
  wake();
}

void EngineLoop::run_hints() {
  std::vector<Hint> hints;
  {
    std::lock_guard lock(mu_);
    hints.swap(hints_);
  }
  for (const Hint& h : hints)
    engine_->hint_reuse(h.owner, h.tokens, h.steps, h.prefetch);
}

void EngineLoop::kv_snapshot(std::size_t max,
                             std::function<void(std::vector<kv::KvHeldBlock>)> sink) {
  std::lock_guard lock(mu_);
  if (stop_) return;
  snapshots_.push_back({max, std::move(sink)});
  wake();
}

void EngineLoop::run_snapshots() {
  std::vector<SnapshotCall> calls;
  {
    std::lock_guard lock(mu_);
    calls.swap(snapshots_);
  }
  for (auto& c : calls)
    c.sink(engine_->kv_snapshot(c.max));
}

void EngineLoop::cancel(RequestId id) {
  std::lock_guard lock(mu_);
  engine_->cancel(id);
  wake();
}

Status EngineLoop::flush_kv() {
  std::future<Status> done;
  {
    std::lock_guard lock(mu_);
    if (stop_) return make_error(ErrorCode::cancelled, "KV flush: the engine loop has stopped");
    flushes_.emplace_back();
    done = flushes_.back().get_future();
    wake();
  }
  return done.get();
}

void EngineLoop::run_flushes() {
  std::vector<std::promise<Status>> waiting;
  {
    std::lock_guard lock(mu_);
    waiting.swap(flushes_);
  }
  if (waiting.empty()) return;
  const Status st = engine_->flush_persistent();
  {
    std::lock_guard lock(mu_);
    snapshot_.kv = engine_->kv_metrics();
  }
  for (auto& w : waiting)
    w.set_value(st);
}

RuntimeMetrics EngineLoop::metrics() const {
  std::lock_guard lock(mu_);
  return snapshot_;
}

void EngineLoop::run() {
  using LoopClock = std::chrono::steady_clock;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stop_ || pending_ || engine_->has_work(); });
      if (stop_) return;
      pending_ = false;
    }
    run_flushes();
    run_hints();
    run_snapshots();
    const auto t0 = LoopClock::now();
    const std::int64_t prefilled_before = engine_->stats().prefilled_tokens;
    auto events = engine_->step();
    const auto t1 = LoopClock::now();
    if (!events.ok()) {
      fail_all(events.error());
      continue;
    }
    route_events(*events);
    const auto t2 = LoopClock::now();
    const EngineStats stats = engine_->stats();
    const double step_s = std::chrono::duration<double>(t1 - t0).count();
    update_snapshot(stats, step_s, std::chrono::duration<double>(t2 - t0).count());
    const std::int64_t prefilled = stats.prefilled_tokens - prefilled_before;
    if (prefilled > 0 && on_prefill_) on_prefill_(prefilled, step_s);
  }
}

void EngineLoop::update_snapshot(const EngineStats& stats, double step_s, double loop_s) {
  std::lock_guard lock(mu_);
  snapshot_.kv = engine_->kv_metrics();
  snapshot_.engine = stats;
  snapshot_.segments = engine_->segment_stats();
  snapshot_.anchors = engine_->anchor_stats();
  snapshot_.step_seconds += step_s;
  snapshot_.loop_seconds += loop_s;
  snapshot_.active_requests = static_cast<int>(routes_.size());
  // A pause at EOS queues a command, so a step (and this snapshot) follows every pause.
  snapshot_.paused_requests = static_cast<int>(
      std::count_if(routes_.begin(), routes_.end(), [](const auto& r) { return r.second.paused; }));
  // The Engine does not expose its free list: estimate the blocks held by live turns
  // (paused ones hold theirs through pins, counted once in pinned_blocks).
  std::int64_t used = snapshot_.kv.pinned_blocks;
  for (const auto& [id, r] : routes_)
    if (!r.paused) used += (r.tokens + geo_.block_size - 1) / geo_.block_size;
  snapshot_.kv_available_blocks =
      static_cast<int>(std::max<std::int64_t>(0, geo_.num_blocks - used));
}

void EngineLoop::route_events(std::vector<EngineEvent>& events) {
  Outbox out;
  std::unordered_map<RequestId, std::size_t> slot;
  auto batch = [&](RequestId id, const caf::actor& to) -> std::size_t {
    auto [it, added] = slot.try_emplace(id, out.size());
    if (added) out.push_back({to, TokenBatch{id, {}, {}, std::nullopt, false, false, {}}});
    return it->second;
  };
  {
    std::lock_guard lock(mu_);
    for (const EngineEvent& e : events) {
      auto it = routes_.find(e.request);
      if (it == routes_.end()) continue;
      Route& r = it->second;
      if (e.kind == EventKind::paused) continue;  // take_token saw the turn's finish
      if (r.samples) {  // a best-of-N probe: its token is dropped, its samples start
        if (e.kind == EventKind::token) {
          start_samples(r);
        } else {
          const Error why = e.kind == EventKind::error
                                ? e.error()
                                : make_error(ErrorCode::cancelled, "cancelled");
          for (auto& sub : r.fork_subscribers)
            out.push_back({sub, TokenBatch{0, {}, {}, std::nullopt, false, false, why}});
        }
        if (e.finish || e.kind != EventKind::token) routes_.erase(e.request);
        continue;
      }
      if (e.kind == EventKind::token) {
        for (int i = 0; i < r.forks; ++i) {  // right after the one prefill
          const RequestId child = engine_->fork(e.request);
          Route c;
          c.subscriber = r.fork_subscribers[static_cast<std::size_t>(i)];
          c.pause = r.pause;
          TokenBatch& cb = out[batch(child, c.subscriber)].second;
          cb.tokens.push_back(e.token);
          cb.logprobs.push_back(e.logprob);
          c.tokens = r.tokens + 1;
          if (r.pause.pauses(e.finish)) {  // a fork of a paused turn is paused too
            cb.finish = e.finish;
            cb.paused_at_eos = true;
            c.paused = true;
          }
          routes_.emplace(child, std::move(c));
        }
        r.forks = 0;
        r.fork_subscribers.clear();
      }
      const std::size_t bi = batch(e.request, r.subscriber);
      if (e.kind == EventKind::cancelled) {
        out[bi].second.cancelled = true;
      } else if (e.kind == EventKind::error) {
        out[bi].second.error = e.error();  // e.g. a refused fork: overloaded
      } else if (!take_token(e, r, out[bi].second)) {
        continue;  // still running (or paused at EOS)
      }
      routes_.erase(e.request);  // ended: finished, cancelled or failed
    }
    admit_waiting(out);
  }
  for (auto& [to, b] : out)
    caf::anon_send(to, std::move(b));
}

bool EngineLoop::take_token(const EngineEvent& e, Route& r, TokenBatch& b) {
  if (e.token >= 0) {
    ++r.tokens;
    b.tokens.push_back(e.token);
    b.logprobs.push_back(e.logprob);
    if (!e.top.empty()) {
      b.top.resize(b.tokens.size() - 1);
      b.top.push_back(e.top);
    } else if (!b.top.empty()) {
      b.top.emplace_back();
    }
  }
  if (e.cached_tokens >= 0) b.cached_tokens = e.cached_tokens;
  b.finish = e.finish;
  if (r.pause.pauses(e.finish)) {
    b.paused_at_eos = true;  // the Engine paused it (its paused event follows)
    r.paused = true;
    return false;
  }
  return e.finish.has_value();
}

void EngineLoop::fail_all(const Error& error) {
  Outbox out;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, r] : routes_) {
      engine_->cancel(id);
      if (r.subscriber) out.push_back({r.subscriber, error_batch(id, error)});
      for (auto& sub : r.fork_subscribers)  // a probe's samples or forks to come
        out.push_back({sub, error_batch(0, error)});
    }
    routes_.clear();
    for (auto& w : samples_wait_)
      for (auto& sub : w.subscribers)
        out.push_back({sub, error_batch(0, error)});
    samples_wait_.clear();
    admit_waiting(out);  // queued submits get a fresh start
    pending_ = true;
  }
  for (auto& [to, b] : out)
    caf::anon_send(to, std::move(b));
}

}  // namespace agentrt::actors
