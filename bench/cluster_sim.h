// cluster_sim's model and entry point: G simulated GPUs behind the real Router (issue 20).
// bench/cluster_sim_run.cpp runs one policy; bench/cluster_sim.cpp is the command line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "cluster/policy.h"

namespace agentrt::bench {

// The Llama-3.1-8B shape on one H200 (bench/RESULTS.md). Decode: the graph step over its
// floor (weights + KV bytes over the copy bandwidth) was 1.46x / 1.42x / 1.39x at batch
// 1 / 32 / 256 (run D, context 1024); 1.42x is used at every batch. Prefill: 32926 tok/s
// for a 4096-token chunk from position 0 (run C), slowed with the context as attention's
// FLOPs per token grow (4 x layers x hidden x position against ~15 GFLOP of weights).
struct StepModel {
  double weight_bytes = 15.0e9;
  double kv_bytes_per_token = 32.0 * 8 * 128 * 2 * 2;  // layers x kv heads x dim x K,V x bf16
  double copy_bandwidth = 4.236e12;
  double decode_over_floor = 1.42;
  double prefill_tok_s = 32926;
  double attention_ctx_equal = 15.0e9 / (4.0 * 32 * 4096);  // position where attention = GEMMs

  // One decode step of `batch` sequences holding `context` tokens in all.
  double decode_s(std::size_t batch, double context) const {
    if (batch == 0) return 0;
    return decode_over_floor * (weight_bytes + context * kv_bytes_per_token) / copy_bandwidth;
  }
  // Prefill of n tokens at positions [start, start + n).
  double prefill_s(std::int64_t n, std::int64_t start) const {
    const double mid = static_cast<double>(start) + static_cast<double>(n) / 2;
    const double slow = (1 + mid / attention_ctx_equal) / (1 + 2048 / attention_ctx_equal);
    return static_cast<double>(n) / prefill_tok_s * slow;
  }
};

struct SimOptions {
  int gpus = 8;
  int programs_per_gpu = 40;
  double rate_per_gpu = 0.5;        // programs arriving per second per GPU
  int families = 8;                 // agent types: programs of one share a system prompt
  std::int64_t kv_tokens = 786432;  // per GPU: 0.9 x 141 GB - 16 GB weights - 8 GB, / 128 KiB
  int block_size = 16;
  int max_batch = 256;
  std::int64_t token_budget = 8192;  // per step, decodes included (chunked prefill)
  double pin_slack_s = 2.0;          // pin TTL = the tool's duration + this
  std::uint64_t seed = 20;
  std::string workload = "swe";
  bool fake_memory = true;        // false: a BlockMemory that keeps nothing (large runs)
  double load_report_s = 0.05;    // a GPU reports its load at most this often
  std::size_t index_entries = 0;  // the router's index cap; 0: RouterOptions' default
  bool pin_events = true;         // send pinned / unpinned KV events
};

struct PolicyResult {
  std::string policy;
  double hit_rate = 0, predicted_hit_rate = 0;
  std::int64_t prompt_tokens = 0, hit_tokens = 0, prefilled_tokens = 0, recomputed_tokens = 0;
  double imbalance = 0, mean_busy_s = 0, max_busy_s = 0;
  double mean_jct_s = 0, p99_jct_s = 0, makespan_s = 0;
  std::int64_t routed = 0, kv_events = 0, preemptions = 0, evictions = 0, pins_revoked = 0;
  double route_us = 0, update_us = 0, coordinator_us = 0, hash_us = 0;
  double routed_per_s = 0;  // simulated turns routed per simulated second
  double saturation_per_s = 0;
  std::size_t index_entries = 0;
  std::int64_t index_dropped = 0;
  double events_us = 0, loads_us = 0;  // the updates split: KV events, load reports
  double wall_s = 0;
};

// Simulates the workload of `o` with `policy` routing. Exits the process on a broken
// invariant (a program that never finishes, a router error).
PolicyResult run_cluster_sim(const SimOptions& o, std::unique_ptr<cluster::RoutingPolicy> policy);

}  // namespace agentrt::bench
