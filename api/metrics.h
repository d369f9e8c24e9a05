// ServerMetrics: the server's Prometheus metrics (GET /metrics, docs/metrics.md). It counts
// the OpenAI API's requests itself (observe, rejected) and renders them, with a snapshot of
// each runtime's engine and KV counters, the jobs by state and the session pins, in the text
// exposition format 0.0.4. Names follow vLLM's (`vllm:...`, label model_name) where vLLM has
// the metric, so its dashboards work; the rest are `agentrt:...`.
//
// Threads: every method may be called from any thread (HTTP workers).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "actors/runtime.h"
#include "api/cluster_metrics.h"
#include "api/session_counters.h"

namespace agentrt::api {

// One finished OpenAI API request (all its choices), as the route saw it.
struct RequestObservation {
  std::string model;          // the model name of the reply (label model_name)
  std::string finish_reason;  // "stop", "length", "tool_calls", "abort" (cancelled / error)
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;  // summed over the choices
  std::int64_t cached_tokens = 0;      // prompt tokens served from the prefix cache
  double ttft_s = -1;                  // arrival to first token; < 0: none (not observed)
  double tpot_s = -1;                  // (e2e - ttft) / (tokens - 1); < 0: not observed
  double e2e_s = 0;                    // arrival to the last byte of the reply
};

// What render() reads besides ServerMetrics' own counters, gathered by the caller.
struct MetricsSnapshot {
  // One entry per loaded runtime: its model name (label model_name) and its metrics.
  std::vector<std::pair<std::string, actors::RuntimeMetrics>> models;
  // JobManager::counts_by_state(): every state, zero included.
  std::map<std::string, std::int64_t> jobs_by_state;
  SessionCounters sessions;
  std::optional<ClusterMetrics> cluster;  // with a cluster (cluster_metrics.h)
};

// Content-Type of render()'s output.
inline constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

class ServerMetrics {
 public:
  ServerMetrics();
  ~ServerMetrics();
  ServerMetrics(const ServerMetrics&) = delete;
  ServerMetrics& operator=(const ServerMetrics&) = delete;

  // Counts a finished request: tokens, vllm:request_success_total{finished_reason} and the
  // latency histograms (ttft and tpot only when >= 0).
  void observe(const RequestObservation& o);
  // Counts a request answered 429 (overloaded) for `model`.
  void rejected(const std::string& model);
  // Every metric family (HELP and TYPE even without samples), in text format 0.0.4.
  std::string render(const MetricsSnapshot& s) const;

  struct PerModel;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<PerModel>> models_;  // by model name (under mu_)
};

}  // namespace agentrt::api
