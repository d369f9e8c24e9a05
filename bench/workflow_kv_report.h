// The figures of bench/workflow_kv_bench.cpp: one setup's measurements (SetupResult) and
// their JSON (report()), TTFT ratios to the LRU and recompute setups of the same run.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/engine.h"

namespace agentrt::bench {

struct SetupResult {
  std::string setup;
  std::map<std::string, std::vector<double>> ttft_ms;  // per step name
  std::int64_t prompt_tokens = 0, cached_tokens = 0, prefetched_blocks = 0;
  // Prompt tokens an unbounded cache would serve: full blocks of a prompt whose prefix an
  // earlier prompt (in submission order) had, however close in time.
  std::int64_t ceiling_tokens = 0;
  double prefetch_ms = 0, makespan_ms = 0, mean_jct_ms = 0;
  // Per engine step, averaged: agents past their first token and not finished (more than
  // max_running when preempted ones wait to resume), and agents waiting for a first token.
  double mean_started = 0, mean_waiting = 0;
  EngineStats stats;
  kv::KvMetrics kv;
};

inline double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v)
    s += x;
  return v.empty() ? 0 : s / static_cast<double>(v.size());
}

inline double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1))];
}

inline double share(std::int64_t part, std::int64_t whole) {
  return whole > 0 ? static_cast<double>(part) / static_cast<double>(whole) : 0.0;
}

inline nlohmann::json report(const SetupResult& r, const SetupResult* lru, const SetupResult* base,
                             std::int64_t block_bytes) {
  std::vector<double> all;
  nlohmann::json steps = nlohmann::json::array();
  for (const auto& [name, v] : r.ttft_ms) {
    all.insert(all.end(), v.begin(), v.end());
    steps.push_back({{"step", name},
                     {"requests", v.size()},
                     {"mean_ttft_ms", mean(v)},
                     {"p50_ttft_ms", quantile(v, 0.5)},
                     {"p90_ttft_ms", quantile(v, 0.9)}});
  }
  const std::int64_t bs = 16;
  const std::int64_t h2d_blocks = r.kv.hit_tokens[1] / bs + r.prefetched_blocks;
  const double h2d_bytes = static_cast<double>(h2d_blocks * block_bytes);
  const double pf_bytes = static_cast<double>(r.prefetched_blocks * block_bytes);
  const double m = mean(all);
  auto ratio = [&](const SetupResult* o) {
    if (o == nullptr) return 0.0;
    std::vector<double> ov;
    for (const auto& [n, v] : o->ttft_ms)
      ov.insert(ov.end(), v.begin(), v.end());
    return m > 0 ? mean(ov) / m : 0.0;
  };
  return {{"setup", r.setup},
          {"mean_ttft_ms", m},
          {"p90_ttft_ms", quantile(all, 0.9)},
          {"speedup_vs_lru", ratio(lru)},
          {"speedup_vs_recompute", ratio(base)},
          {"steps", steps},
          {"prompt_tokens", r.prompt_tokens},
          {"cached_tokens", r.cached_tokens},
          // Prefill tokens served from cache: of the tokens a prefill needed (first turns,
          // and again after a preemption), those whose KV came from a cache.
          {"reuse_rate", share(r.cached_tokens, r.cached_tokens + r.stats.prefilled_tokens)},
          {"prompt_cached_share", share(r.cached_tokens, r.prompt_tokens)},
          {"reuse_ceiling", share(r.ceiling_tokens, r.prompt_tokens)},
          {"mean_started", r.mean_started},
          {"mean_waiting", r.mean_waiting},
          {"device_hit_tokens", r.kv.hit_tokens[0]},
          {"host_hit_tokens", r.kv.hit_tokens[1]},
          {"h2d_bytes", h2d_bytes},
          {"h2d_gb_s_over_makespan", h2d_bytes / (r.makespan_ms * 1e6)},
          {"prefetched_blocks", r.prefetched_blocks},
          {"prefetch_ms", r.prefetch_ms},
          {"prefetch_gb_s", r.prefetch_ms > 0 ? pf_bytes / (r.prefetch_ms * 1e6) : 0.0},
          {"overlap_share", 0.0},
          {"d2h_offloaded_blocks", r.kv.offloaded_blocks},
          {"evictions", r.kv.evictions},
          {"prefilled_tokens", r.stats.prefilled_tokens},
          {"preemptions", r.stats.preemptions},
          {"mean_jct_ms", r.mean_jct_ms},
          {"makespan_ms", r.makespan_ms}};
}

}  // namespace agentrt::bench
