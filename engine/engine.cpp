// Engine: creation, the thread-safe command queue, and the commands themselves.
#include "engine/engine.h"

#include <span>

#include "engine/engine_internal.h"
#include "engine/host_anchor_pool.h"
#include "engine/kv_pool_limits.h"

namespace agentrt {

Engine::Engine(EngineDeps deps, const EngineOptions& options)
    : deps_(std::move(deps)), opt_(options) {}
Engine::~Engine() {
  if (launched_) {  // the backend outlives the engine: it must not keep the launch
    std::vector<DeviceSample> dropped;
    deps_.backend->collect_sample(dropped).permit_unchecked();
  }
  if (host_ && !host_->slab().empty()) deps_.backend->unregister_host_memory(host_->slab().data());
}

namespace {

Status check_options(const Backend& backend, const EngineOptions& o) {
  if (o.max_tokens_per_step < 1 || o.max_running < 1 || o.max_requests < 1) {
    return make_error(ErrorCode::invalid_argument,
                      "EngineOptions: max_tokens_per_step, max_running and max_requests must be "
                      ">= 1, got " +
                          std::to_string(o.max_tokens_per_step) + ", " +
                          std::to_string(o.max_running) + " and " + std::to_string(o.max_requests));
  }
  const auto& geo = backend.kv_geometry();
  if (geo.block_size < 1) {
    return make_error(ErrorCode::invalid_argument,
                      "Engine: backend block size " + std::to_string(geo.block_size));
  }
  // The backend has allocated its pool already; this bounds the KV manager's metadata.
  return check_kv_block_count("Engine: backend '" + backend.name() + "'", geo.num_blocks);
}

}  // namespace

Result<std::unique_ptr<Engine>> Engine::create(EngineDeps deps, const EngineOptions& options) {
  if (deps.backend == nullptr || deps.config == nullptr) {
    return make_error(ErrorCode::invalid_argument, "Engine: backend and config are required");
  }
  AGENTRT_TRY(check_options(*deps.backend, options));
  const bool needs_io = options.host_tier_bytes > 0 || deps.persistent != nullptr ||
                        (options.swap_preemption && options.swap_bytes > 0);
  if (needs_io && deps.backend->block_bytes() == 0) {
    return make_error(ErrorCode::unsupported,
                      "Engine: backend '" + deps.backend->name() +
                          "' cannot read or write blocks (needed for tiers and swap)");
  }
  std::unique_ptr<Engine> e(new Engine(std::move(deps), options));
  if (e->deps_.clock == nullptr) {
    e->own_clock_ = std::make_unique<kv::SteadyClock>();
    e->deps_.clock = e->own_clock_.get();
  }
  e->memory_ = std::make_unique<BackendMemory>(*e->deps_.backend);
  kv::KvManagerDeps kd{e->memory_.get(), e->deps_.clock, {}, nullptr};
  // With a persistent tier, the host tier drops what overflows: full blocks reach the store
  // through the write-behind (when their sequence pauses or ends), not through evictions
  // written on the engine thread. It stays in the list even when empty, so store hits are
  // always hit_tokens[2].
  if (options.host_tier_bytes > 0 || e->deps_.persistent != nullptr) {
    e->host_ = std::make_unique<kv::HostTier>(options.host_tier_bytes, nullptr,
                                              e->deps_.backend->block_bytes());
    // Pinned for DMA where the backend can; unpinned memory still works (staged copies).
    if (auto slab = e->host_->slab(); !slab.empty())
      e->deps_.backend->register_host_memory(slab.data(), slab.size()).permit_unchecked();
    kd.tiers.push_back(e->host_.get());
  }
  if (e->deps_.persistent != nullptr) {
    kd.tiers.push_back(e->deps_.persistent);
    e->persister_ = std::make_unique<kv::KvPersister>(e->deps_.persistent, options.persist);
    kd.persister = e->persister_.get();
  }
  const auto& geo = e->deps_.backend->kv_geometry();
  // Blocks are keyed by model and by the backend's block layout (Backend::kv_layout).
  const std::string kv_fingerprint =
      kv::layout_fingerprint(e->deps_.model_fingerprint, e->deps_.backend->kv_layout());
  auto kv = kv::KvManager::create(
      {geo.num_blocks, geo.block_size, kv_fingerprint, options.prefix_reuse, options.swap_bytes},
      std::move(kd));
  if (!kv.ok()) return kv.error();
  e->kv_ = std::move(*kv);
  if (options.kv_events) e->kv_->set_event_listener(options.kv_events);
  if (options.segment_cache_bytes > 0 && e->deps_.backend->token_kv_bytes() > 0) {
    kv::SegmentStoreOptions store;
    if (options.persist_segments) store.tier = e->deps_.persistent;
    store.token_kv_bytes = e->deps_.backend->token_kv_bytes();
    store.persist = options.persist;
    e->segments_ =
        std::make_unique<kv::SegmentCache>(options.segment_cache_bytes, kv_fingerprint, store);
    // The probe layer (1) is matched, the layers after it predicted.
    if (e->deps_.config->num_layers >= 3) {
      Backend& be = *e->deps_.backend;
      e->anchors_ =
          be.make_anchor_pool(blend_probe_layer(e->deps_.config->num_layers), options.anchors);
      if (!e->anchors_) {
        e->anchors_ =
            std::make_unique<HostAnchorPool>(be, blend_probe_layer(e->deps_.config->num_layers),
                                             e->deps_.config->num_layers, options.anchors);
      }
    }
  }
  e->sched_ = std::make_unique<scheduler::Scheduler>(
      scheduler::SchedulerOptions{options.max_tokens_per_step, options.max_running,
                                  options.swap_preemption, options.order},
      *e->kv_);
  return e;
}

void Engine::push(Command c) {
  std::lock_guard lock(mu_);
  queue_.push_back(std::move(c));
}

Result<RequestId> Engine::add_request(EngineRequest request) {
  AGENTRT_TRY(request.params.validate());
  const int max_context = deps_.config->max_context();
  if (request.prompt.empty()) return make_error(ErrorCode::invalid_argument, "empty prompt");
  if (std::ssize(request.prompt) >= max_context) {
    return make_error(ErrorCode::invalid_argument, "prompt of " +
                                                       std::to_string(request.prompt.size()) +
                                                       " tokens leaves no room in the context of " +
                                                       std::to_string(max_context));
  }
  AGENTRT_TRY(check_token_ids(request.prompt, deps_.config->vocab_size, "prompt"));
  if (request.kv_reuse == KvReuse::blend) {  // under exact, segments are ignored
    AGENTRT_TRY(check_segments(request.segments, std::ssize(request.prompt)));
    if (request.blend_recompute &&
        !(*request.blend_recompute >= 0.0f && *request.blend_recompute <= 1.0f)) {
      return make_error(
          ErrorCode::invalid_argument,
          "blend_recompute " + std::to_string(*request.blend_recompute) + " is outside [0, 1]");
    }
  }
  const auto& geo = deps_.backend->kv_geometry();
  const std::int64_t total =
      std::min<std::int64_t>(std::ssize(request.prompt) + request.params.max_tokens, max_context);
  if ((total + geo.block_size - 1) / geo.block_size > geo.num_blocks) {
    return make_error(ErrorCode::out_of_memory,
                      "request needs " + std::to_string(total) + " tokens of KV, the pool has " +
                          std::to_string(geo.num_blocks * geo.block_size));
  }
  if (!take_slot()) {
    return make_error(ErrorCode::overloaded,
                      "engine: " + std::to_string(opt_.max_requests) +
                          " requests held (EngineOptions::max_requests); queue and retry");
  }
  const RequestId id = next_id_++;
  push({id, Command::Add{std::move(request)}});
  return id;
}

void Engine::cancel(RequestId id) {
  push({id, Command::Cancel{}});
}
void Engine::pause(RequestId id, kv::Duration ttl) {
  push({id, Command::Pause{ttl}});
}
void Engine::resume(RequestId id, std::vector<std::int32_t> appended, ResumeOptions options) {
  push({id, Command::Resume{std::move(appended), std::move(options)}});
}
void Engine::repin(RequestId id, kv::Duration ttl) {
  push({id, Command::Repin{ttl}});
}
RequestId Engine::fork(RequestId id) {
  const RequestId child = next_id_++;
  push({id, Command::Fork{child, !take_slot()}});
  return child;
}

bool Engine::take_slot() {
  if (held_.fetch_add(1) < opt_.max_requests) return true;
  --held_;
  return false;
}

bool Engine::has_work() {
  {
    std::lock_guard lock(mu_);
    if (!queue_.empty()) return true;
  }
  return launched_.has_value() || sched_->has_work();
}

Status Engine::flush_persistent() {
  if (!persister_) return ok_status();
  const std::int64_t errors_before = persister_->errors();
  kv_->persist_cached();
  persister_->drain();
  const Status segments = segments_ ? segments_->flush() : ok_status();
  const std::int64_t failed = persister_->errors() - errors_before;
  if (failed == 0) return segments;
  return make_error(ErrorCode::io, "KV flush: " + std::to_string(failed) +
                                       " blocks failed to write to '" + persister_->tier()->name() +
                                       "'");
}

kv::AnchorStats Engine::anchor_stats() const {
  return anchors_ ? anchors_->stats() : kv::AnchorStats{};
}

kv::SegmentCacheStats Engine::segment_stats() const {
  return segments_ ? segments_->stats() : kv::SegmentCacheStats{};
}

EngineStats Engine::stats() const {
  EngineStats s = stats_;
  s.preemptions = sched_->preemptions();
  s.swap_preemptions = sched_->swap_preemptions();
  return s;
}

void Engine::start(RequestId id, EngineRequest req) {
  auto s = std::make_unique<Seq>();
  s->id = id;
  s->program = req.program.value_or(id);
  s->tokens = std::move(req.prompt);
  s->turn_start = s->tokens.size();
  s->params = std::move(req.params);
  s->seed =
      s->params.seed.value_or(sampling::derive_seed(opt_.seed, static_cast<std::uint64_t>(id)));
  s->sampler.emplace(s->params, s->seed);
  s->pause_on_finish = req.pause_on_finish;
  s->pause_only_at_stop = req.pause_only_at_stop;
  if (req.kv_reuse == KvReuse::blend && segments_) {
    s->blends = true;
    for (const PromptSegment& g : req.segments)
      s->blend.push_back({g, false, nullptr, false});
    s->blend_recompute = req.blend_recompute.value_or(opt_.blend_recompute);
    s->blend_anchors = req.blend_anchors.value_or(opt_.blend_anchors);
  }
  sched_->add(id, s->program, &s->tokens);
  seqs_.emplace(id, std::move(s));
}

void Engine::end(Seq& s, bool persist) {
  --held_;
  sched_->remove(s.id);
  if (persist) kv_->persist(s.id);
  kv_->release(s.id);
  kv_->unpin(s.id);
  seqs_.erase(s.id);
}

void Engine::do_pause(Seq& s, kv::Duration ttl, std::vector<EngineEvent>& events) {
  if (s.paused) return;
  sched_->pause(s.id);
  if (opt_.pin_on_pause && kv_->contains(s.id) && !kv_->swapped_out(s.id)) {
    kv_->pin(s.id, s.id, ttl).permit_unchecked();  // the seq is known: cannot fail
  }
  kv_->persist(s.id);  // e.g. waiting for a tool: the next process may resume it
  kv_->release(s.id);
  s.paused = true;
  ++s.turn;
  events.push_back({s.id, EventKind::paused, -1, 0.0f, std::nullopt, {}});
}

void Engine::do_repin(Seq& s, kv::Duration ttl) {
  if (!s.paused) return;
  // The pin is owned by the SeqId, as do_pause's; the resumed turn's admission drops it.
  (void)kv_->pin_prefix(s.id, s.tokens, ttl);  // a tier read error is a shorter pin
}

void Engine::do_resume(Seq& s, std::vector<std::int32_t>& appended, const ResumeOptions& options,
                       std::vector<EngineEvent>& events) {
  const std::optional<int>& max_tokens = options.max_tokens;
  if (!s.paused) {
    events.push_back({s.id, EventKind::error, -1, 0.0f, std::nullopt, "resume: not paused",
                      ErrorCode::invalid_argument});
    return;
  }
  // A bad resume ends the request (an error event is its last), as a bad add_request never
  // starts one.
  Status valid = check_token_ids(appended, deps_.config->vocab_size, "resume: appended");
  if (valid.ok() && max_tokens && *max_tokens < 1) {
    valid = make_error(ErrorCode::invalid_argument,
                       "resume: max_tokens must be >= 1, got " + std::to_string(*max_tokens));
  }
  if (valid.ok() && s.blends) {
    valid = check_segments(options.segments, std::ssize(appended));
    if (!valid.ok()) valid = valid.error().with_context("resume: appended");
  }
  if (!valid.ok()) {
    events.push_back({s.id, EventKind::error, -1, 0.0f, std::nullopt, valid.error().message,
                      valid.error().code});
    return end(s);
  }
  if (options.set_pause) s.pause_on_finish = options.pause_on_finish;
  if (options.set_constraint) {
    s.params.constraint = options.constraint;
    s.sampler.emplace(s.params, s.seed);  // its cursor follows the new constraint
  }
  const auto offset = static_cast<std::int32_t>(s.tokens.size());
  if (s.blends) {  // e.g. a tool result: looked up when its first chunk is scheduled
    for (const PromptSegment& g : options.segments)
      s.blend.push_back({{offset + g.begin, offset + g.end}, false, nullptr, false});
  }
  s.tokens.insert(s.tokens.end(), appended.begin(), appended.end());
  s.turn_start = s.tokens.size();
  s.turn_prefilled = 0;
  if (max_tokens) s.params.max_tokens = *max_tokens;
  const auto& geo = deps_.backend->kv_geometry();
  const std::int64_t total = std::min<std::int64_t>(std::ssize(s.tokens) + s.params.max_tokens,
                                                    deps_.config->max_context());
  if (std::ssize(s.tokens) >= deps_.config->max_context() ||
      (total + geo.block_size - 1) / geo.block_size > geo.num_blocks) {
    events.push_back({s.id, EventKind::token, -1, 0.0f, FinishReason::context_full, {}});
    return end(s);
  }
  s.paused = false;
  ++s.turn;
  sched_->resume(s.id);
}

void Engine::do_fork(RequestId parent, RequestId child, bool refused,
                     std::vector<EngineEvent>& events) {
  if (refused) {
    events.push_back({child, EventKind::error, -1, 0.0f, std::nullopt,
                      "fork: " + std::to_string(opt_.max_requests) +
                          " requests held (EngineOptions::max_requests)",
                      ErrorCode::overloaded});
    return;
  }
  auto it = seqs_.find(parent);
  if (it == seqs_.end()) {
    --held_;
    events.push_back({child, EventKind::error, -1, 0.0f, std::nullopt, "fork: unknown parent",
                      ErrorCode::not_found});
    return;
  }
  const Seq& p = *it->second;
  auto c = std::make_unique<Seq>(p);
  c->id = child;
  // A seeded parent's forks get seeds of their own (from the seed and the child's id), so
  // forked samples differ from the parent and from each other, and repeat run to run.
  if (c->params.seed)
    c->params.seed = sampling::derive_seed(*c->params.seed, static_cast<std::uint64_t>(child));
  c->seed =
      c->params.seed.value_or(sampling::derive_seed(opt_.seed, static_cast<std::uint64_t>(child)));
  c->sampler.emplace(c->params, c->seed);
  if (kv_->contains(parent) && !kv_->swapped_out(parent)) {
    kv_->fork(parent, child).permit_unchecked();  // checked just above
  }
  Seq& ref = *c;
  seqs_.emplace(child, std::move(c));
  sched_->add_fork(child, parent, &ref.tokens);
  if (ref.paused) sched_->pause(child);
}

void Engine::apply(Command& c, std::vector<EngineEvent>& events) {
  if (auto* add = std::get_if<Command::Add>(&c.what)) return start(c.id, std::move(add->req));
  if (auto* f = std::get_if<Command::Fork>(&c.what))
    return do_fork(c.id, f->child, f->refused, events);
  auto it = seqs_.find(c.id);
  if (it == seqs_.end()) return;
  Seq& s = *it->second;
  if (std::holds_alternative<Command::Cancel>(c.what)) {
    events.push_back({s.id, EventKind::cancelled, -1, 0.0f, std::nullopt, {}});
    return end(s);
  }
  if (auto* p = std::get_if<Command::Pause>(&c.what)) return do_pause(s, p->ttl, events);
  if (auto* r = std::get_if<Command::Repin>(&c.what)) return do_repin(s, r->ttl);
  if (auto* r = std::get_if<Command::Resume>(&c.what)) {
    return do_resume(s, r->appended, r->options, events);
  }
}

std::int64_t Engine::hint_reuse(kv::HintOwner owner, std::span<const std::int32_t> tokens,
                                std::int32_t steps, bool prefetch) {
  kv_->hint_reuse(owner, tokens, steps);
  const std::int64_t copied = prefetch && steps >= 0 ? kv_->prefetch(tokens, steps) : 0;
  kv_->flush_events();
  return copied;
}

std::vector<kv::KvHeldBlock> Engine::kv_snapshot(std::size_t max) {
  kv_->flush_events();
  return kv_->held_blocks(max);
}

}  // namespace agentrt
