// ServerMetrics: the request counters and histograms of the OpenAI API, and the rendering of
// every family (docs/metrics.md). vLLM's names, help texts and buckets are those of
// vllm/v1/metrics/loggers.py.
#include "api/metrics.h"

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <tuple>

#include "api/prometheus_text.h"

namespace agentrt::api {
namespace {

constexpr std::array<double, 22> kTtftBuckets{0.001, 0.005, 0.01, 0.02,  0.04,  0.06,  0.08, 0.1,
                                              0.25,  0.5,   0.75, 1.0,   2.5,   5.0,   7.5,  10.0,
                                              20.0,  40.0,  80.0, 160.0, 640.0, 2560.0};
constexpr std::array<double, 19> kTpotBuckets{0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2,
                                              0.3,  0.4,   0.5,  0.75,  1.0, 2.5,  5.0,
                                              7.5,  10.0,  20.0, 40.0,  80.0};
constexpr std::array<double, 21> kE2eBuckets{0.3,  0.5,   0.8,   1.0,   1.5,   2.0,    2.5,
                                             5.0,  10.0,  15.0,  20.0,  30.0,  40.0,   50.0,
                                             60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};
// vLLM's build_1_2_5_buckets(max_model_len); here up to the largest max_tokens accepted.
constexpr std::array<double, 19> kTokenBuckets{1,     2,      5,      10,     20,     50,    100,
                                               200,   500,    1000,   2000,   5000,   10000, 20000,
                                               50000, 100000, 200000, 500000, 1000000};

// Finish reasons counted from zero, as vLLM pre-creates its FinishReason values.
constexpr std::array<const char*, 4> kFinishReasons{"stop", "length", "tool_calls", "abort"};

}  // namespace

struct ServerMetrics::PerModel {
  std::int64_t prompt_tokens = 0;
  std::int64_t generation_tokens = 0;
  std::int64_t cached_tokens = 0;
  std::int64_t rejected = 0;
  std::map<std::string, std::int64_t> finished;  // by finish reason
  Histogram ttft{kTtftBuckets};
  Histogram tpot{kTpotBuckets};
  Histogram e2e{kE2eBuckets};
  Histogram prompt{kTokenBuckets};
  Histogram generation{kTokenBuckets};

  PerModel() {
    for (const char* r : kFinishReasons)
      finished[r] = 0;
  }
};

namespace {

using actors::RuntimeMetrics;

MetricLabels model_label(const std::string& model) {
  return {{"model_name", model}};
}

// One family with a sample per runtime: value(m) of each model's RuntimeMetrics.
void per_runtime(PrometheusText& out, const MetricsSnapshot& s, std::string_view name,
                 MetricType type, std::string_view help,
                 const std::function<double(const RuntimeMetrics&)>& value) {
  out.family(name, type, help);
  for (const auto& [model, m] : s.models)
    out.sample(name, model_label(model), value(m));
}

void render_scheduler(PrometheusText& out, const MetricsSnapshot& s) {
  per_runtime(out, s, "vllm:num_requests_running", MetricType::gauge,
              "Number of requests in model execution batches.",
              [](const RuntimeMetrics& m) { return m.active_requests - m.paused_requests; });
  per_runtime(out, s, "agentrt:num_requests_paused", MetricType::gauge,
              "Requests paused for a tool call (their KV pinned): not running, not waiting.",
              [](const RuntimeMetrics& m) { return m.paused_requests; });
  per_runtime(out, s, "vllm:num_requests_waiting", MetricType::gauge,
              "Number of requests waiting to be processed.",
              [](const RuntimeMetrics& m) { return m.queued_requests; });
  per_runtime(out, s, "vllm:kv_cache_usage_perc", MetricType::gauge,
              "KV-cache usage. 1 means 100 percent usage.", [](const RuntimeMetrics& m) {
                const double total = static_cast<double>(m.kv_blocks);
                const double held = static_cast<double>(m.kv.used_blocks + m.kv.pinned_blocks);
                return total > 0 ? held / total : 0.0;
              });
  per_runtime(out, s, "vllm:prefix_cache_queries_total", MetricType::counter,
              "Prefix cache queries, in terms of number of queried tokens.",
              [](const RuntimeMetrics& m) { return static_cast<double>(m.kv.lookup_tokens); });
  per_runtime(out, s, "vllm:prefix_cache_hits_total", MetricType::counter,
              "Prefix cache hits, in terms of number of cached tokens.",
              [](const RuntimeMetrics& m) {
                std::int64_t hits = 0;
                for (std::int64_t h : m.kv.hit_tokens)
                  hits += h;
                return static_cast<double>(hits);
              });
  per_runtime(out, s, "vllm:num_preemptions_total", MetricType::counter,
              "Cumulative number of preemption from the engine.",
              [](const RuntimeMetrics& m) { return static_cast<double>(m.engine.preemptions); });
}

void render_engine(PrometheusText& out, const MetricsSnapshot& s) {
  per_runtime(
      out, s, "agentrt:swap_preemptions_total", MetricType::counter,
      "Preemptions that swapped the request's KV to host memory (the rest recompute it).",
      [](const RuntimeMetrics& m) { return static_cast<double>(m.engine.swap_preemptions); });
  per_runtime(out, s, "agentrt:engine_steps_total", MetricType::counter,
              "Engine steps (batches run).",
              [](const RuntimeMetrics& m) { return static_cast<double>(m.engine.steps); });
  per_runtime(
      out, s, "agentrt:engine_prefilled_tokens_total", MetricType::counter,
      "Tokens computed from prompts, appended turns or recomputation (all jobs and requests).",
      [](const RuntimeMetrics& m) { return static_cast<double>(m.engine.prefilled_tokens); });
  per_runtime(out, s, "agentrt:engine_decoded_tokens_total", MetricType::counter,
              "Tokens generated by the engine (all jobs and requests).",
              [](const RuntimeMetrics& m) { return static_cast<double>(m.engine.decoded_tokens); });
  per_runtime(out, s, "agentrt:engine_step_seconds_total", MetricType::counter,
              "Time spent inside engine steps.",
              [](const RuntimeMetrics& m) { return m.step_seconds; });
  per_runtime(out, s, "agentrt:runtime_rejected_requests_total", MetricType::counter,
              "Requests the runtime refused as overloaded (its wait queue was full).",
              [](const RuntimeMetrics& m) { return static_cast<double>(m.rejected_requests); });
}

// Device blocks by state, bytes held per tier, prefix hits per tier.
void render_kv_tiers(PrometheusText& out, const MetricsSnapshot& s) {
  out.family("agentrt:kv_blocks", MetricType::gauge,
             "Device KV blocks by state: free (empty), cached (reusable content, evictable), "
             "used (held by a running sequence), pinned (held by a pin). They sum to the pool.");
  for (const auto& [model, m] : s.models) {
    const std::array<std::pair<const char*, std::int64_t>, 4> states{
        {{"free", m.kv.free_blocks},
         {"cached", m.kv.cached_blocks},
         {"used", m.kv.used_blocks},
         {"pinned", m.kv.pinned_blocks}}};
    for (const auto& [state, n] : states)
      out.sample("agentrt:kv_blocks", {{"model_name", model}, {"tier", "device"}, {"state", state}},
                 n);
  }
  per_runtime(out, s, "agentrt:kv_block_bytes", MetricType::gauge,
              "Bytes of one device KV block (every layer's keys and values).",
              [](const RuntimeMetrics& m) { return static_cast<double>(m.kv.block_bytes); });
  out.family("agentrt:kv_tier_bytes", MetricType::gauge,
             "KV bytes held per tier: device (blocks not free), host (RAM tier), store "
             "(RocksDB snapshot store). A tier the runtime does not have is left out.");
  static constexpr std::array<const char*, 3> kTiers{"device", "host", "store"};
  for (const auto& [model, m] : s.models) {
    const std::int64_t device =
        (m.kv.cached_blocks + m.kv.used_blocks + m.kv.pinned_blocks) * m.kv.block_bytes;
    for (std::size_t t = 0; t < kTiers.size(); ++t) {
      const std::int64_t bytes = t == 0 ? device : m.kv.tier_bytes[t];
      if (bytes >= 0)
        out.sample("agentrt:kv_tier_bytes", {{"model_name", model}, {"tier", kTiers[t]}}, bytes);
    }
  }
  out.family("agentrt:prefix_cache_hit_tokens_total", MetricType::counter,
             "Prompt tokens found in the prefix cache, by the tier they were found in.");
  for (const auto& [model, m] : s.models)
    for (std::size_t t = 0; t < kTiers.size(); ++t)
      out.sample("agentrt:prefix_cache_hit_tokens_total",
                 {{"model_name", model}, {"tier", kTiers[t]}}, m.kv.hit_tokens[t]);
}

void render_kv_events(PrometheusText& out, const MetricsSnapshot& s) {
  using Field = std::int64_t kv::KvMetrics::*;
  struct Counter {
    const char* name;
    const char* help;
    Field field;
  };
  static const std::array<Counter, 13> kCounters{{
      {"agentrt:kv_pins_created_total", "KV pins made (paused turns, tool calls, sessions).",
       &kv::KvMetrics::pins_created},
      {"agentrt:kv_pins_expired_total", "KV pins dropped when their TTL passed.",
       &kv::KvMetrics::pins_expired},
      {"agentrt:kv_pins_revoked_total", "KV pins taken back under memory pressure.",
       &kv::KvMetrics::pins_revoked},
      {"agentrt:kv_prefetched_blocks_total",
       "Blocks a re-pin or a workflow prefetch copied back from a lower tier.",
       &kv::KvMetrics::prefetched_blocks},
      {"agentrt:kv_reuse_hints_total",
       "Workflow reuse hints received (a step's prefix and its steps to next use).",
       &kv::KvMetrics::hints_set},
      {"agentrt:kv_evictions_total", "Cached device blocks reclaimed for new KV.",
       &kv::KvMetrics::evictions},
      {"agentrt:kv_offloaded_blocks_total", "Evicted blocks written to the first lower tier.",
       &kv::KvMetrics::offloaded_blocks},
      {"agentrt:kv_cow_copies_total", "Shared partial blocks copied before a write.",
       &kv::KvMetrics::cow_copies},
      {"agentrt:kv_swapped_out_blocks_total", "Blocks swapped out to host memory.",
       &kv::KvMetrics::swapped_out_blocks},
      {"agentrt:kv_swapped_in_blocks_total", "Blocks swapped back in from host memory.",
       &kv::KvMetrics::swapped_in_blocks},
      {"agentrt:kv_persisted_blocks_total", "Full blocks written to the persistent store.",
       &kv::KvMetrics::persisted_blocks},
      {"agentrt:kv_persist_errors_total", "Blocks whose write to the persistent store failed.",
       &kv::KvMetrics::persist_errors},
      {"agentrt:kv_persist_dropped_blocks_total",
       "Blocks not written to the persistent store because its write queue was full.",
       &kv::KvMetrics::persist_dropped_blocks},
  }};
  per_runtime(out, s, "agentrt:kv_pins_active", MetricType::gauge, "KV pins held now.",
              [](const RuntimeMetrics& m) { return static_cast<double>(m.kv.active_pins); });
  per_runtime(out, s, "agentrt:kv_reuse_hint_owners", MetricType::gauge,
              "Workflow steps holding a KV reuse hint now.",
              [](const RuntimeMetrics& m) { return static_cast<double>(m.kv.hint_owners); });
  for (const Counter& c : kCounters) {
    per_runtime(out, s, c.name, MetricType::counter, c.help,
                [&c](const RuntimeMetrics& m) { return static_cast<double>(m.kv.*(c.field)); });
  }
}

// The segment cache of kv_reuse blend and its anchor pool (issue 21, docs/metrics.md).
void render_segments(PrometheusText& out, const MetricsSnapshot& s) {
  struct Family {
    const char* name;
    MetricType type;
    const char* help;
    std::function<std::int64_t(const RuntimeMetrics&)> value;
  };
  static const std::array<Family, 16> kFamilies{{
      {"agentrt:segment_cache_entries", MetricType::gauge,
       "Segments (kv_reuse blend) whose first-context KV the segment cache holds in RAM now.",
       [](const RuntimeMetrics& m) { return m.segments.entries; }},
      {"agentrt:segment_cache_bytes", MetricType::gauge, "Bytes of the segments held in RAM now.",
       [](const RuntimeMetrics& m) { return m.segments.bytes; }},
      {"agentrt:segment_cache_lookups_total", MetricType::counter,
       "Prompt segments looked up in the segment cache.",
       [](const RuntimeMetrics& m) { return m.segments.lookups; }},
      {"agentrt:segment_cache_hits_total", MetricType::counter,
       "Segment lookups that found the segment (in RAM or the persistent tier).",
       [](const RuntimeMetrics& m) { return m.segments.hits; }},
      {"agentrt:segment_cache_inserts_total", MetricType::counter,
       "Segments computed in a prompt and stored.",
       [](const RuntimeMetrics& m) { return m.segments.inserts; }},
      {"agentrt:segment_cache_evictions_total", MetricType::counter,
       "Segments dropped from RAM to stay within the cache's bound.",
       [](const RuntimeMetrics& m) { return m.segments.evictions; }},
      {"agentrt:segment_reused_tokens_total", MetricType::counter,
       "Prompt tokens whose KV was placed from the segment cache and not computed.",
       [](const RuntimeMetrics& m) { return m.segments.tokens_reused; }},
      {"agentrt:segment_recomputed_tokens_total", MetricType::counter,
       "Tokens of found segments recomputed in their new context (blend_recompute).",
       [](const RuntimeMetrics& m) { return m.segments.tokens_recomputed; }},
      {"agentrt:segment_store_errors_total", MetricType::counter,
       "Reads or writes of the segment cache's persistent tier that failed.",
       [](const RuntimeMetrics& m) { return m.segments.store_errors; }},
      {"agentrt:blend_anchors", MetricType::gauge,
       "Anchors (--blend-anchors) held now: placements computed in full, whose offsets "
       "correct later placements.",
       [](const RuntimeMetrics& m) { return m.anchors.anchors; }},
      {"agentrt:blend_anchor_tokens", MetricType::gauge, "Tokens of the anchors held now.",
       [](const RuntimeMetrics& m) { return m.anchors.tokens; }},
      {"agentrt:blend_anchor_bytes", MetricType::gauge, "Bytes of the anchors held now.",
       [](const RuntimeMetrics& m) { return m.anchors.bytes; }},
      {"agentrt:blend_anchors_recorded_total", MetricType::counter,
       "Placements computed in full and recorded as anchors.",
       [](const RuntimeMetrics& m) { return m.anchors.recorded; }},
      {"agentrt:blend_anchors_evicted_total", MetricType::counter,
       "Anchors dropped, oldest first, to stay within the pool's bounds.",
       [](const RuntimeMetrics& m) { return m.anchors.evicted; }},
      {"agentrt:blend_anchor_predicted_segments_total", MetricType::counter,
       "Placements corrected by offsets predicted from anchors.",
       [](const RuntimeMetrics& m) { return m.anchors.predicted_segments; }},
      {"agentrt:blend_anchor_predicted_tokens_total", MetricType::counter,
       "Placed segment tokens whose KV was corrected by offsets predicted from anchors.",
       [](const RuntimeMetrics& m) { return m.anchors.predicted_tokens; }},
  }};
  for (const Family& f : kFamilies)
    per_runtime(out, s, f.name, f.type, f.help,
                [&f](const RuntimeMetrics& m) { return static_cast<double>(f.value(m)); });
}

void render_jobs_and_sessions(PrometheusText& out, const MetricsSnapshot& s) {
  out.family("agentrt:jobs", MetricType::gauge, "Jobs the server knows, by state.");
  for (const auto& [state, n] : s.jobs_by_state)
    out.sample("agentrt:jobs", {{"state", state}}, n);

  using Field = std::int64_t SessionCounters::*;
  struct Session {
    const char* name;
    MetricType type;
    const char* help;
    Field field;
  };
  static const std::array<Session, 7> kSessions{{
      {"agentrt:session_pins_active", MetricType::gauge,
       "Agent conversations whose KV is pinned now, waiting for the client's tool results.",
       &SessionCounters::active},
      {"agentrt:session_pinned_tokens", MetricType::gauge, "Tokens held by session pins now.",
       &SessionCounters::pinned_tokens},
      {"agentrt:session_pins_created_total", MetricType::counter,
       "Session pins made after a response that ended in tool calls.", &SessionCounters::created},
      {"agentrt:session_pin_hits_total", MetricType::counter,
       "Conversations that came back while their KV was pinned.", &SessionCounters::hits},
      {"agentrt:session_pins_expired_total", MetricType::counter,
       "Session pins whose TTL passed before the conversation came back.",
       &SessionCounters::expired},
      {"agentrt:session_late_returns_total", MetricType::counter,
       "Conversations that came back after their pin had expired.", &SessionCounters::late},
      {"agentrt:session_pins_evicted_total", MetricType::counter,
       "Session pins dropped to keep the session table within its bound.",
       &SessionCounters::evicted},
  }};
  for (const Session& f : kSessions) {
    out.family(f.name, f.type, f.help);
    out.sample(f.name, {}, s.sessions.*(f.field));
  }
}

// The OpenAI API's request counters and histograms, one series per model.
void render_requests(PrometheusText& out,
                     const std::map<std::string, const ServerMetrics::PerModel*>& models) {
  using PerModel = ServerMetrics::PerModel;

  using Field = std::int64_t PerModel::*;
  const std::array<std::tuple<const char*, const char*, Field>, 4> counters{{
      {"vllm:prompt_tokens_total", "Number of prefill tokens processed.", &PerModel::prompt_tokens},
      {"vllm:generation_tokens_total", "Number of generation tokens processed.",
       &PerModel::generation_tokens},
      {"agentrt:prompt_cached_tokens_total",
       "Prompt tokens of OpenAI API requests served from the prefix cache (usage.cached_tokens).",
       &PerModel::cached_tokens},
      {"agentrt:requests_rejected_total",
       "OpenAI API requests answered 429 because the server was overloaded.", &PerModel::rejected},
  }};
  for (const auto& [name, help, field] : counters) {
    out.family(name, MetricType::counter, help);
    for (const auto& [model, p] : models)
      out.sample(name, model_label(model), p->*field);
  }
  out.family("vllm:request_success_total", MetricType::counter,
             "Count of successfully processed requests.");
  for (const auto& [model, p] : models)
    for (const auto& [reason, n] : p->finished)
      out.sample("vllm:request_success_total", {{"model_name", model}, {"finished_reason", reason}},
                 n);

  using HistField = Histogram PerModel::*;
  const std::array<std::tuple<const char*, const char*, HistField>, 5> histograms{{
      {"vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.",
       &PerModel::ttft},
      {"vllm:time_per_output_token_seconds", "Histogram of time per output token in seconds.",
       &PerModel::tpot},
      {"vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.",
       &PerModel::e2e},
      {"vllm:request_prompt_tokens", "Number of prefill tokens processed.", &PerModel::prompt},
      {"vllm:request_generation_tokens", "Number of generation tokens processed.",
       &PerModel::generation},
  }};
  for (const auto& [name, help, field] : histograms) {
    out.family(name, MetricType::histogram, help);
    for (const auto& [model, p] : models)
      out.histogram(name, model_label(model), p->*field);
  }
}

}  // namespace

ServerMetrics::ServerMetrics() = default;
ServerMetrics::~ServerMetrics() = default;

void ServerMetrics::observe(const RequestObservation& o) {
  std::lock_guard lock(mu_);
  auto& slot = models_[o.model];
  if (!slot) slot = std::make_unique<PerModel>();
  PerModel& p = *slot;
  p.prompt_tokens += o.prompt_tokens;
  p.generation_tokens += o.completion_tokens;
  p.cached_tokens += o.cached_tokens;
  ++p.finished[o.finish_reason.empty() ? "stop" : o.finish_reason];
  if (o.ttft_s >= 0) p.ttft.observe(o.ttft_s);
  if (o.tpot_s >= 0) p.tpot.observe(o.tpot_s);
  p.e2e.observe(o.e2e_s);
  p.prompt.observe(static_cast<double>(o.prompt_tokens));
  p.generation.observe(static_cast<double>(o.completion_tokens));
}

void ServerMetrics::rejected(const std::string& model) {
  std::lock_guard lock(mu_);
  auto& slot = models_[model];
  if (!slot) slot = std::make_unique<PerModel>();
  ++slot->rejected;
}

std::string ServerMetrics::render(const MetricsSnapshot& s) const {
  PrometheusText out;
  render_scheduler(out, s);
  render_engine(out, s);
  render_kv_tiers(out, s);
  render_kv_events(out, s);
  render_segments(out, s);
  render_jobs_and_sessions(out, s);
  if (s.cluster) render_cluster(out, *s.cluster);

  std::lock_guard lock(mu_);
  // Every runtime's model has request series (zero until its first request), as vLLM's.
  static const PerModel kNone;
  std::map<std::string, const PerModel*> models;
  for (const auto& [name, m] : s.models)
    models[name] = &kNone;
  for (const auto& [name, p] : models_)
    models[name] = p.get();
  render_requests(out, models);
  return out.text();
}

}  // namespace agentrt::api
