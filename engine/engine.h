// Engine: the serving core of one device. It owns the KV manager (with its host and
// persistent tiers) and the scheduler, and drives a Backend one step at a time:
// continuous batching, prefix reuse, fork, pause/resume across tool calls, preemption.
// With a persistent tier, a sequence's full blocks are written behind (off the engine
// thread when the tier is thread_safe()) when it pauses, finishes, its pin expires, and
// at flush_persistent().
// Threads: add_request, cancel, pause, resume and fork may be called from any thread; they
// queue a command that the next step() applies. step() and the accessors run on one thread
// (the engine thread), which is the only one that touches the backend.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/backend.h"
#include "engine/common/result.h"
#include "engine/finish_reason.h"
#include "engine/kv/clock.h"
#include "engine/kv/host_tier.h"
#include "engine/kv/kv_manager.h"
#include "engine/kv/segment_anchors.h"
#include "engine/kv/segment_cache.h"
#include "engine/kv_reuse.h"
#include "engine/model/config.h"
#include "engine/prompt_segment.h"
#include "engine/sampling/sampler.h"
#include "engine/scheduler/scheduler.h"

namespace agentrt {

using RequestId = std::int64_t;

// Default of EngineOptions::max_requests.
inline constexpr int kDefaultMaxEngineRequests = 65536;

struct EngineOptions {
  int max_tokens_per_step = 512;
  int max_running = 64;
  // Requests held at once (running, waiting or paused, forks included), each with its token
  // history: a backstop against unbounded memory. Callers queue work beyond it themselves
  // (actors::EngineLoop does); add_request answers overloaded, a fork gets an error event.
  int max_requests = kDefaultMaxEngineRequests;
  bool prefix_reuse = true;
  bool pin_on_pause = true;             // false: a paused turn's KV is merely cached
  std::size_t host_tier_bytes = 0;      // evicted blocks kept in RAM; 0 = none
  kv::KvPersisterOptions persist;       // the persistent tier's write-behind queue
  std::size_t swap_bytes = 256u << 20;  // host memory for preempted sequences
  bool swap_preemption = true;          // false: preempt by recompute
  std::uint64_t seed = 0;               // seeds requests without params.seed
  // On a backend that samples on the device (Backend::samples_on_device), sampled requests
  // without penalties or top logprobs draw there too, so logits stay on the device; their
  // tokens then follow the device's generator, not Sampler's (greedy ones are the same
  // either way). false: only greedy batches use the device.
  bool device_sampling = true;
  // On a backend that overlaps steps (Backend::overlaps_steps: CUDA), step() queues step
  // n + 1 before it takes step n's tokens, so the host's scheduling and layout run while
  // the device computes: each step() returns the previous step's tokens, and a sequence
  // that stops at a stop token computes one more token that is thrown away. Steps with
  // host sampling, masks or blended segments, and forks, wait for the step in flight
  // first. A cancel, pause or resume applied while a request's step is in flight drops
  // that step's token, as if the command had come before it. false: every step() runs and
  // samples its own step.
  bool overlap_steps = true;
  // How turns rank for admission and preemption (scheduler.h): attained service per
  // program (Autellix PLAS, the default), program FCFS, or every turn FCFS (vLLM's order).
  scheduler::Order order = scheduler::Order::attained;
  // End-of-turn ids beyond the model config's eos_token_ids (e.g. the tokenizer's
  // eos_token): a sampled one finishes a turn as they do, unless params.ignore_eos.
  std::vector<std::int32_t> extra_eos_ids;
  // Issue 21: EngineRequest::blend_recompute when a blend request leaves it unset, and the
  // bytes the segment cache may hold (segment KV kept on the host, evicted LRU). 0.5: the
  // smallest fraction whose accuracy loss was within noise on a 200-problem tiny-calc
  // workflow (0.05-0.4 lost 2.5-3.5 points; docs/workflows.md, "Accuracy on a workflow").
  float blend_recompute = 0.5f;
  std::size_t segment_cache_bytes = 64u << 20;
  // With a persistent tier (EngineDeps::persistent): segments are written behind to it and
  // read back on a RAM miss, so they survive a restart (kv::SegmentCache).
  bool persist_segments = true;
  // Which segment tokens blend recomputes: true, those whose layer-1 K/V deviate most
  // (CacheBlend); false, the segment's first tokens (a baseline for measurements).
  bool blend_select_by_deviation = true;
  // KVCOMM's anchors (kv/segment_anchors.h): a placed segment's KV after the probe layer is
  // corrected by offsets predicted from earlier placements computed in full, and some
  // placements are computed in full to become anchors. Needs a backend with
  // token_kv_offsets() and at least 3 layers. The engine keeps one pool (anchor_pool.h:
  // the backend's own, on the GPU for CUDA, else a HostAnchorPool; empty until a request
  // records); this is the default of EngineRequest::blend_anchors. Off by default: a
  // prediction costs an n x M x kv-dim product per layer (bench/RESULTS.md, issue 21);
  // `agentrt run/serve --blend-anchors` turn it on.
  bool blend_anchors = false;
  kv::AnchorOptions anchors;
  // Told the KV manager's events (engine/kv/kv_events.h: blocks stored, evicted, pinned,
  // unpinned per tier) in batches, at the end of each step, on the engine thread; must be
  // quick (a cluster node queues them for its coordinator). Unset: none are recorded.
  kv::KvEventListener kv_events;
};

struct EngineDeps {
  Backend* backend = nullptr;                  // required, outlives the engine
  const model::ModelConfig* config = nullptr;  // required, outlives the engine
  std::string model_fingerprint;               // enters every KV block key
  // e.g. storage::KvStore; optional. Hits in it count as kv_metrics().hit_tokens[2] (a host
  // tier, empty when host_tier_bytes is 0, is always [1]).
  kv::KvTier* persistent = nullptr;
  const kv::Clock* clock = nullptr;  // optional: steady clock
};

struct EngineRequest {
  std::vector<std::int32_t> prompt;
  // stop_strings are not applied (no detokenizer here); a params.constraint (structured
  // output) is applied on the host, so its batches copy their logits there.
  sampling::SamplingParams params;
  std::optional<std::int64_t> program;  // turns of one agent program; default: its own id
  // When set, a finished turn pauses with this TTL (KV pinned) instead of ending: the
  // request stays, paused (event paused after the turn's last token), until resume() or
  // cancel(). A turn that fills the context always ends.
  std::optional<kv::Duration> pause_on_finish;
  // With pause_on_finish: only a turn that ends at a stop token (an EOS, or one of
  // params.stop_token_ids) pauses, as an agent's turn does before its tool calls run; one
  // that reaches max_tokens ends the request.
  bool pause_only_at_stop = false;
  // Issue 21. Spans of `prompt` ([begin, end) token indices, sorted, disjoint) whose KV the
  // engine may take from the segment cache, computed in another context and placed here.
  std::vector<PromptSegment> segments;   // engine/prompt_segment.h: {int32 begin, end}
  KvReuse kv_reuse = KvReuse::exact;     // engine/kv_reuse.h: exact | blend
  std::optional<float> blend_recompute;  // fraction in [0,1]; nullopt: engine default
  // Under blend: whether this request's placements use (and add to) the engine's anchor
  // pool (EngineOptions::blend_anchors, its default when nullopt).
  std::optional<bool> blend_anchors;
};

// What Engine::resume changes for the turns to come; unset fields keep the request's own.
struct ResumeOptions {
  std::optional<int> max_tokens{};  // this turn's and the next ones' params.max_tokens
  // When set_pause: replaces the request's pause rule, the next finished turn pauses with
  // `pause_on_finish` (nullopt: it ends the request); pause_only_at_stop stays as it was.
  bool set_pause = false;
  std::optional<kv::Duration> pause_on_finish{};
  // When set_constraint: replaces params.constraint from this turn on (null: none), e.g.
  // an agent's last turn constrained to JSON of a schema. The constraint follows the
  // turn's output tokens only (not the appended ones); the sampler restarts from the
  // request's seed.
  bool set_constraint = false;
  std::shared_ptr<const sampling::Constraint> constraint{};
  // Issue 21: spans of `appended` ([begin, end) indices into it, sorted, disjoint), e.g. a
  // tool result, that a request added with KvReuse::blend may take from the segment cache,
  // as EngineRequest::segments are for the prompt; ignored under exact. Bad spans end the
  // request with an error event, as a bad token does.
  std::vector<PromptSegment> segments{};
};

enum class EventKind { token, paused, cancelled, error };

// One per generated token (kind token; finish set on a turn's last token), and one per
// pause, cancellation or error of a request.
struct EngineEvent {
  RequestId request = 0;
  EventKind kind = EventKind::token;
  std::int32_t token = -1;
  float logprob = 0.0f;
  std::optional<FinishReason> finish;
  std::string message;                   // error text
  ErrorCode code = ErrorCode::internal;  // kind error: its category (e.g. overloaded)
  // The first token of a turn: its prompt tokens whose KV was not computed for this turn
  // (a prefix hit in any tier, or a paused turn's pinned KV); -1 on every other event.
  std::int64_t cached_tokens = -1;
  // kind token with params.logprobs > 0: the top alternatives, best first.
  std::vector<sampling::TokenLogprob> top{};
  Error error() const { return Error{code, message}; }
};

struct EngineStats {
  std::int64_t steps = 0;
  std::int64_t prefilled_tokens = 0;  // computed from prompts, appended or recomputed
  std::int64_t decoded_tokens = 0;
  std::int64_t preemptions = 0;
  std::int64_t swap_preemptions = 0;  // of those, by swap (the rest dropped KV for recompute)
  // Structured output on a device-sampling backend: constrained rows masked, and the host
  // time the masks took (DeviceTokenMasks::fill) and the whole forward_sample call took.
  std::int64_t masked_rows = 0;
  double mask_seconds = 0.0;
  double masked_step_seconds = 0.0;
  // Wall time inside step(), and the part of it inside the backend's forward() or
  // forward_sample() (launches, and the wait for the device where the backend has one):
  // step_seconds - forward_seconds is the engine's own host time (commands, scheduling,
  // the batch's layout, blend, sampling on the host, events).
  double step_seconds = 0.0;
  double forward_seconds = 0.0;
  // overlap_steps: steps queued while the step before was still in flight.
  std::int64_t overlapped_steps = 0;
};

class Engine {
 public:
  // Errors: a missing backend or config, max_tokens_per_step or max_running < 1, a pool of
  // more than kMaxKvBlocks blocks, a backend that cannot swap blocks while swap, tiers or a
  // persistent store are asked for.
  static Result<std::unique_ptr<Engine>> create(EngineDeps deps, const EngineOptions& options);
  ~Engine();

  // --- any thread ---
  // Queues a request. Errors: invalid params, an empty prompt, a token id outside the
  // vocabulary, a prompt that fills the context, or one whose KV can never fit in the pool;
  // overloaded while options.max_requests requests are held.
  Result<RequestId> add_request(EngineRequest request);
  // Ends a request (event cancelled); its KV is released. Unknown ids are ignored.
  void cancel(RequestId id);
  // Stops generating and pins the request's KV for `ttl` (event paused).
  void pause(RequestId id, kv::Duration ttl);
  // Continues a paused request with `appended` tokens (e.g. a tool result); `options` may
  // change the next turn's max_tokens, pause rule and constraint. A token outside the
  // vocabulary or max_tokens < 1 ends the request with an error event.
  void resume(RequestId id, std::vector<std::int32_t> appended, ResumeOptions options = {});
  // Re-pins a paused request's KV until now + ttl, replacing its earlier pin: its cached
  // full blocks are found again (device first, then the lower tiers, whose hits are copied
  // back to the device: a prefetch, kv_metrics().prefetched_blocks) and pinned. ttl <= 0
  // unpins (the blocks stay cached, evictable). No-op for a request that is not paused.
  void repin(RequestId id, kv::Duration ttl);
  // Queues a copy of the request that shares its KV copy-on-write; returns the child id.
  // Beyond options.max_requests the child gets an error event instead. The copy is taken
  // when the next step() applies the command: with overlap_steps, after the token in
  // flight, except at a turn's first token (none is in flight then).
  RequestId fork(RequestId id);

  // --- engine thread ---
  // Applies queued commands and runs one batch. Returns the events of this step. Errors:
  // a backend failure (the step's requests get error events first where possible).
  Result<std::vector<EngineEvent>> step();
  // Whether any request is running or waiting (paused requests do not count), any command
  // is queued, or a step's tokens are still to be taken (overlap_steps).
  bool has_work();
  kv::KvMetrics kv_metrics() const { return kv_->metrics(); }
  // Writes every cached full block that the persistent tier lacks, and the segments queued
  // for it, and waits until the writers have stored them (shutdown). Errors: io when some
  // writes failed (counted in kv_metrics().persist_errors, segment_stats().store_errors).
  // No-op without a persistent tier.
  Status flush_persistent();
  EngineStats stats() const;
  // The segment cache's counters (KvReuse::blend); zeros when the backend cannot blend or
  // EngineOptions::segment_cache_bytes is 0.
  kv::SegmentCacheStats segment_stats() const;
  // The anchor pool's counters (zeros while no request used it, or without one: a model of
  // fewer than 3 layers, or a backend without token_kv_offsets()).
  kv::AnchorStats anchor_stats() const;
  // Tells the KV manager that the full blocks of `tokens` are next used in `steps` steps
  // (a workflow planner's hint, KVFlow; steps < 0 drops `owner`'s hint) and, with `prefetch`,
  // copies those only the host tier holds back to the device now, evicting only blocks
  // needed later (KvManager::prefetch). Returns the blocks copied. Engine thread only,
  // between steps.
  std::int64_t hint_reuse(kv::HintOwner owner, std::span<const std::int32_t> tokens,
                          std::int32_t steps, bool prefetch);
  // Hands the KV manager's buffered events to EngineOptions::kv_events, then returns what
  // it holds (KvManager::held_blocks, at most `max`): in order with the events, since both
  // come from this thread. Engine thread only, between steps.
  std::vector<kv::KvHeldBlock> kv_snapshot(std::size_t max);

 private:
  struct Seq;
  struct Command;
  class BackendMemory;
  Engine(EngineDeps deps, const EngineOptions& options);

  void apply(Command& c, std::vector<EngineEvent>& events);
  void start(RequestId id, EngineRequest req);
  void do_pause(Seq& s, kv::Duration ttl, std::vector<EngineEvent>& events);
  void do_repin(Seq& s, kv::Duration ttl);
  void do_resume(Seq& s, std::vector<std::int32_t>& appended, const ResumeOptions& options,
                 std::vector<EngineEvent>& events);
  void do_fork(RequestId parent, RequestId child, bool refused, std::vector<EngineEvent>& events);
  void end(Seq& s, bool persist = false);  // persist: a finished turn's blocks are written
  void sample(Seq& s, std::span<const float> logits, std::vector<EngineEvent>& events);
  void accept(Seq& s, const sampling::SampledToken& tok, std::vector<EngineEvent>& events);
  void push(Command c);
  bool take_slot();  // counts one more held request unless max_requests are held
  // KvReuse::blend (engine_blend.cpp): places the step's cached segments and rewrites
  // `batch` (one entry per chunk) into the runs of tokens still to compute; row_of[i] is
  // chunk i's logits row (-1: none), computed[i] its computed tokens.
  Status blend_batch(const scheduler::StepSchedule& plan, BatchPlan& batch,
                     std::vector<int>& row_of, std::vector<std::int64_t>& computed);
  // Stores the segments whose computation (a miss) ended in this step.
  void store_segments(const scheduler::StepSchedule& plan);
  // Anchors (engine_blend.cpp): corrects placed segments by predicted offsets, or marks them
  // to be computed in full and recorded after the step (record_anchors).
  struct PendingAnchor {
    RequestId seq = 0;
    std::int32_t begin = 0;  // position of the segment
    std::shared_ptr<const kv::SegmentEntry> hit;
  };
  Status record_anchors();
  // Overlapped steps (engine_step.cpp): a step queued with Backend::launch_sample whose
  // samples are not yet taken. Chunk i samples logits row i; appends[i]: its token
  // is the sequence's next (false for a prompt's inner chunk, or a sequence whose turn
  // ended before the step's samples came).
  struct Launched {
    std::vector<scheduler::ScheduledChunk> chunks;
    std::vector<char> appends;
    std::vector<std::uint64_t> turns;  // Seq::turn at the launch
  };
  bool overlappable(const scheduler::StepSchedule& plan) const;
  Seq* taker_of(const Launched& l, std::size_t i);
  Seq* still_in_turn(const Launched& l, std::size_t i);
  void hold_places();
  Status collect(std::vector<EngineEvent>& events);
  void drop_ended(scheduler::StepSchedule& plan, std::span<const RequestId> held) const;
  BatchPlan lay_out(const scheduler::StepSchedule& plan) const;
  Status commit_chunk(const scheduler::ScheduledChunk& ch, std::int64_t computed);
  Status launch(scheduler::StepSchedule& plan, std::vector<EngineEvent>& events);

  EngineDeps deps_;
  EngineOptions opt_;
  std::unique_ptr<kv::SteadyClock> own_clock_;
  std::unique_ptr<BackendMemory> memory_;
  std::unique_ptr<kv::HostTier> host_;
  std::unique_ptr<kv::KvPersister> persister_;  // declared before kv_, which uses it
  std::unique_ptr<kv::KvManager> kv_;
  std::unique_ptr<scheduler::Scheduler> sched_;
  std::unique_ptr<kv::SegmentCache> segments_;  // null: blend falls back to exact
  std::unique_ptr<AnchorPool> anchors_;         // null: no anchors
  std::vector<PendingAnchor> pending_anchors_;  // computed in full this step
  std::optional<Launched> launched_;            // the step in flight (overlap_steps)
  std::unordered_map<RequestId, std::unique_ptr<Seq>> seqs_;
  EngineStats stats_;

  std::mutex mu_;  // guards queue_
  std::vector<Command> queue_;
  std::atomic<RequestId> next_id_{1};
  std::atomic<std::int64_t> held_{0};  // requests added or forked and not yet ended
};

}  // namespace agentrt
