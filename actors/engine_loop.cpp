// EngineLoop: the step loop thread and its routing of events to subscribers.
#include "actors/engine_loop.h"

#include <algorithm>
#include <chrono>

#include "engine/sampling/sampling_params.h"

namespace agentrt::actors {
EngineLoop::EngineLoop(std::unique_ptr<Engine> engine, std::vector<std::int32_t> eos_ids,
                       int max_live_requests, KvGeometry geometry,
                       std::function<void(std::int64_t, double)> on_prefill)
    : engine_(std::move(engine)),
      eos_(std::move(eos_ids)),
      max_live_(max_live_requests),
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
}

void EngineLoop::wake() {
  pending_ = true;
  cv_.notify_all();
}

bool EngineLoop::is_eos(std::int32_t t) const {
  return std::find(eos_.begin(), eos_.end(), t) != eos_.end();
}

Result<RequestId> EngineLoop::submit(GenerateMsg msg) {
  const int samples =
      msg.samples_after_prefill > 0 ? msg.samples_after_prefill : msg.fork_after_prefill + 1;
  if (msg.subscribers.size() != static_cast<std::size_t>(samples) ||
      (msg.samples_after_prefill > 0 && msg.fork_after_prefill > 0)) {
    return make_error(ErrorCode::invalid_argument, "generate: need one subscriber per sample");
  }
  std::lock_guard lock(mu_);
  const auto live = static_cast<int>(routes_.size());
  if (live + 1 + samples - (msg.samples_after_prefill > 0 ? 0 : 1) > max_live_) {
    ++snapshot_.rejected_requests;
    return make_error(ErrorCode::overloaded,
                      "engine overloaded: " + std::to_string(live) + " live requests, limit " +
                          std::to_string(max_live_) + " (max_pending_requests); retry later");
  }
  if (msg.pause_at_eos) msg.request.params.ignore_eos = true;  // the loop pauses at EOS
  if (msg.samples_after_prefill > 0) return submit_probe(msg);
  const auto prompt_tokens = std::ssize(msg.request.prompt);
  auto id = engine_->add_request(std::move(msg.request));
  if (!id.ok()) return id.error();
  Route r;
  r.subscriber = msg.subscribers[0];
  r.pause_at_eos = msg.pause_at_eos;
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
  r.pause_at_eos = msg.pause_at_eos;
  r.fork_subscribers = std::move(msg.subscribers);
  r.tokens = std::ssize(msg.request.prompt);
  r.samples = std::move(msg.request);
  routes_.emplace(*id, std::move(r));
  snapshot_.active_requests = static_cast<int>(routes_.size());
  wake();
  return *id;
}

void EngineLoop::start_samples(Route& probe, std::vector<std::pair<caf::actor, TokenBatch>>& out) {
  std::uint64_t index = 0;
  for (auto& sub : probe.fork_subscribers) {
    EngineRequest req = *probe.samples;
    // Each sample of a seeded request draws from a seed of its own.
    if (req.params.seed) req.params.seed = sampling::derive_seed(*req.params.seed, index);
    ++index;
    auto id = engine_->add_request(std::move(req));
    if (!id.ok()) {  // e.g. the full max_tokens cannot fit: this sample fails alone
      out.push_back({sub, TokenBatch{0, {}, {}, std::nullopt, false, false, id.error().message}});
      continue;
    }
    Route c;
    c.subscriber = sub;
    c.pause_at_eos = probe.pause_at_eos;
    c.tokens = probe.tokens;
    routes_.emplace(*id, std::move(c));
  }
  probe.samples.reset();
}

Status EngineLoop::resume(ResumeMsg msg) {
  std::lock_guard lock(mu_);
  auto it = routes_.find(msg.id);
  if (it == routes_.end() || !it->second.paused) {
    return make_error(ErrorCode::not_found,
                      "resume: request " + std::to_string(msg.id) + " is not paused at EOS");
  }
  it->second.paused = false;
  it->second.pause_at_eos = msg.pause_at_eos;
  it->second.tokens += std::ssize(msg.appended);
  engine_->resume(msg.id, std::move(msg.appended), msg.max_tokens);
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
  c.pause_at_eos = it->second.pause_at_eos;
  c.paused = it->second.paused;
  c.tokens = it->second.tokens;
  const RequestId child = engine_->fork(parent);
  routes_.emplace(child, std::move(c));
  wake();
  return child;
}

void EngineLoop::cancel(RequestId id) {
  std::lock_guard lock(mu_);
  engine_->cancel(id);
  wake();
}

RuntimeMetrics EngineLoop::metrics() const {
  std::lock_guard lock(mu_);
  return snapshot_;
}

void EngineLoop::run() {
  using Clock = std::chrono::steady_clock;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stop_ || pending_ || engine_->has_work(); });
      if (stop_) return;
      pending_ = false;
    }
    const auto t0 = Clock::now();
    const std::int64_t prefilled_before = engine_->stats().prefilled_tokens;
    auto events = engine_->step();
    const auto t1 = Clock::now();
    if (!events.ok()) {
      fail_all(events.error());
      continue;
    }
    route_events(*events);
    const auto t2 = Clock::now();
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
  snapshot_.step_seconds += step_s;
  snapshot_.loop_seconds += loop_s;
  snapshot_.active_requests = static_cast<int>(routes_.size());
  // The Engine does not expose its free list: estimate the blocks held by live turns
  // (paused ones hold theirs through pins, counted once in pinned_blocks).
  std::int64_t used = snapshot_.kv.pinned_blocks;
  for (const auto& [id, r] : routes_)
    if (!r.paused) used += (r.tokens + geo_.block_size - 1) / geo_.block_size;
  snapshot_.kv_available_blocks =
      static_cast<int>(std::max<std::int64_t>(0, geo_.num_blocks - used));
}

void EngineLoop::route_events(std::vector<EngineEvent>& events) {
  std::vector<std::pair<caf::actor, TokenBatch>> out;
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
      if (e.kind == EventKind::paused) continue;  // our own pause at EOS took effect
      if (r.samples) {  // a best-of-N probe: its token is dropped, its samples start
        if (e.kind == EventKind::token) {
          start_samples(r, out);
        } else {
          const std::string why = e.kind == EventKind::error ? e.message : "cancelled";
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
          c.pause_at_eos = r.pause_at_eos;
          TokenBatch& cb = out[batch(child, c.subscriber)].second;
          cb.tokens.push_back(e.token);
          cb.logprobs.push_back(e.logprob);
          c.tokens = r.tokens + 1;
          routes_.emplace(child, std::move(c));
        }
        r.forks = 0;
      }
      const std::size_t bi = batch(e.request, r.subscriber);
      if (e.kind == EventKind::cancelled) {
        out[bi].second.cancelled = true;
      } else if (e.kind == EventKind::error) {
        out[bi].second.error = e.message;
      } else if (!take_token(e, r, out[bi].second)) {
        continue;  // still running (or paused at EOS)
      }
      routes_.erase(e.request);  // ended: finished, cancelled or failed
    }
  }
  for (auto& [to, b] : out)
    caf::anon_send(to, std::move(b));
}

bool EngineLoop::take_token(const EngineEvent& e, Route& r, TokenBatch& b) {
  if (e.token >= 0) {
    ++r.tokens;
    b.tokens.push_back(e.token);
    b.logprobs.push_back(e.logprob);
  }
  if (!e.finish && r.pause_at_eos && is_eos(e.token)) {
    engine_->pause(e.request, *r.pause_at_eos);  // applied before the next step runs
    b.finish = FinishReason::stop_token;
    b.paused_at_eos = true;
    r.paused = true;
    return false;
  }
  b.finish = e.finish;
  return e.finish.has_value();
}

void EngineLoop::fail_all(const Error& error) {
  std::vector<std::pair<caf::actor, TokenBatch>> out;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, r] : routes_) {
      engine_->cancel(id);
      TokenBatch b{id, {}, {}, std::nullopt, false, false, error.to_string()};
      out.push_back({r.subscriber, std::move(b)});
    }
    routes_.clear();
    pending_ = true;
  }
  for (auto& [to, b] : out)
    caf::anon_send(to, std::move(b));
}

}  // namespace agentrt::actors
