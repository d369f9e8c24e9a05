// TtlPolicy: how long to pin an agent's KV while its tool calls run.
//
// Inputs: the predicted tool duration D (per-tool online quantile of measured durations,
// DurationEstimator; a cold-start default until enough samples), the cost C of rebuilding
// the sequence's KV if the pin lapses (context tokens x measured prefill seconds per token),
// and memory pressure p (share of KV blocks neither free nor evictable, in [0, 1]).
//
//   candidate = margin * D + slack
//   hold      = p * (seq_blocks / total_blocks) * candidate * hold_weight
//   ttl       = 0                                   if C < hold (recompute is cheaper than
//                                                   holding the memory: do not pin)
//             = clamp(candidate, min_ttl, max_ttl)  if p <= high_pressure
//             = clamp(D, min_ttl, max_ttl)          if p > high_pressure (no margin)
//
// `hold` is the engine time the pin may cost others: holding the whole pool for one second
// at full pressure counts as one second (times hold_weight). The pin is released on resume
// (the engine unpins when the resumed turn is admitted); on expiry the blocks stay cached
// but become evictable (with a host tier, evicted ones are copied there).
//
// The agent decides twice per turn: at its start over all its tools (so the pause at EOS
// pins), and once the reply's calls are known over those calls only (a re-pin). With a host
// tier it re-pins again prefetch_lead() before the slowest call is predicted to end, so
// blocks that lapsed are back on the device when the tool answers.
// Thread-safe: estimators are guarded by a mutex.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "engine/kv/clock.h"

namespace agentrt::actors {

struct TtlPolicyOptions {
  double quantile = 0.9;  // of recent durations
  int window = 64;        // durations kept per tool
  int min_samples = 3;    // fewer: cold_start is the prediction
  kv::Duration cold_start = std::chrono::seconds(2);
  double margin = 1.25;
  kv::Duration slack = std::chrono::milliseconds(50);
  kv::Duration min_ttl = std::chrono::milliseconds(20);
  kv::Duration max_ttl = std::chrono::seconds(120);
  double high_pressure = 0.9;
  double hold_weight = 1.0;
  double prefill_seconds_per_token = 2e-4;  // cold-start recompute cost until measured
  // Prefetch: host-to-device copy rate and the least lead (prefetch_lead()).
  double host_to_device_bytes_per_s = 10e9;
  kv::Duration min_prefetch_lead = std::chrono::milliseconds(20);
};

// Per-tool sliding window of measured durations with an exact quantile over it.
class DurationEstimator {
 public:
  explicit DurationEstimator(int window = 64) : window_(window) {}
  void add(kv::Duration d);
  int samples() const { return static_cast<int>(values_.size()); }
  // The q-quantile (nearest rank) of the window; 0 when empty.
  kv::Duration quantile(double q) const;

 private:
  int window_;
  std::vector<kv::Duration> values_;  // ring buffer
  std::size_t next_ = 0;
};

struct TtlInputs {
  std::vector<std::string> tools;  // the calls that may run (the max prediction counts)
  std::int64_t context_tokens = 0;
  int seq_blocks = 0;
  int total_blocks = 1;
  int available_blocks = 1;  // free + evictable
};

struct TtlDecision {
  kv::Duration ttl{0};        // 0: do not pin
  kv::Duration predicted{0};  // D
  double recompute_seconds = 0.0;
  double hold_seconds = 0.0;
  double pressure = 0.0;
};

class TtlPolicy {
 public:
  explicit TtlPolicy(TtlPolicyOptions options = {}) : opt_(options) {}

  // Records a finished call's duration (success or failure: both held the pin).
  void record(const std::string& tool, kv::Duration duration);
  // Records a measured prefill rate (EWMA), the recompute cost's input.
  void record_prefill(std::int64_t tokens, double seconds);
  // D for one tool: its quantile, or cold_start with fewer than min_samples.
  kv::Duration predict(const std::string& tool) const;
  TtlDecision decide(const TtlInputs& in) const;
  // How long before a tool's predicted end to re-pin a sequence of `blocks` blocks of
  // `block_bytes` each: the time to copy them all from the host tier, at least
  // min_prefetch_lead.
  kv::Duration prefetch_lead(std::int64_t blocks, std::size_t block_bytes) const;
  const TtlPolicyOptions& options() const { return opt_; }

 private:
  TtlPolicyOptions opt_;
  mutable std::mutex mu_;
  std::map<std::string, DurationEstimator> tools_;
  double prefill_spt_ = -1.0;  // measured seconds per prefilled token; < 0: none yet
};

}  // namespace agentrt::actors
