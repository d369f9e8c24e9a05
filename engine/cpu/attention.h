// Causal paged attention of the CPU backend: one call per (sequence, kv head, rows of the
// sequence's chunk) computes the output of the query heads that share the kv head, reading
// K/V of positions [0, pos] from the paged cache once for all of them. Calls for different
// (sequence, kv head, rows) may run concurrently.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/cpu/kv_cache.h"

namespace agentrt::cpu {

struct AttentionArgs {
  const CpuKvCache* kv = nullptr;
  int layer = 0;
  int num_heads = 0;
  int num_kv_heads = 0;
  int head_dim = 0;
  float scale = 1.0f;
  const float* q = nullptr;  // row t holds the heads of token t after RoPE
  std::size_t q_stride = 0;
  float* out = nullptr;  // row t receives [num_heads * head_dim]
  std::size_t out_stride = 0;
};

// A sequence's chunk within the step: rows [row0, row0 + count) at positions start_pos, ...
struct ChunkRows {
  int row0 = 0;
  int count = 0;
  int start_pos = 0;
  const std::vector<std::int32_t>* block_table = nullptr;
};

// The query heads that share kv_head (num_heads / num_kv_heads of them), for rows
// [first, first + count) of the chunk (0 <= first, first + count <= chunk.count). Vectorized
// for cpu_isa(); scratch is resized as needed and may be reused across calls.
void attend(const AttentionArgs& args, const ChunkRows& chunk, int kv_head, int first, int count,
            std::vector<float>& scratch);

}  // namespace agentrt::cpu
