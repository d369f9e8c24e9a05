// Generic paged attention: one warp per (token, q head), keys in order with an online
// softmax, lanes splitting the head dimension. Any head_dim up to 256 and either storage
// type; the f32 path is the reference-precision one, and it also serves head dims the
// tensor-core kernel does not instantiate.
#pragma once

#include "kernels/attention.h"
#include "kernels/device_math.cuh"

namespace agentrt::kernels::generic {

template <class T>
__global__ void attention_kernel(AttentionParams p) {
  constexpr int kMaxPer = 8;  // head_dim <= 256
  const int item = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (item >= p.rows * p.num_heads) return;
  const int row = item / p.num_heads, head = item % p.num_heads;
  const int kv_heads = p.kv.num_kv_heads, group = p.num_heads / kv_heads;
  const int kv_head = head / group, d = p.kv.head_dim, bs = p.kv.block_size;
  const AttnChunk c = p.chunks[p.row_chunk[row]];
  const int pos = p.positions[row];
  const std::int32_t* table = p.tables + c.table_offset;
  const T* q =
      static_cast<const T*>(p.q) + (static_cast<std::size_t>(row) * p.num_heads + head) * d;
  const T* pool = static_cast<const T*>(p.kv.pool);
  const std::size_t slab = static_cast<std::size_t>(bs) * d;
  float qv[kMaxPer], acc[kMaxPer];
#pragma unroll
  for (int k = 0; k < kMaxPer; ++k) {
    const int e = lane + 32 * k;
    qv[k] = e < d ? to_f32(q[e]) : 0.0f;
    acc[k] = 0.0f;
  }
  float m = -INFINITY, l = 0.0f;
  for (int j = 0; j <= pos; ++j) {
    const std::size_t block = static_cast<std::size_t>(table[j / bs]);
    const std::size_t base = ((block * p.kv.num_layers + p.layer) * 2 * kv_heads + kv_head) * slab +
                             static_cast<std::size_t>(j % bs) * d;
    const T* k = pool + base;
    const T* v = pool + base + static_cast<std::size_t>(kv_heads) * slab;
    float dot = 0.0f;
#pragma unroll
    for (int t = 0; t < kMaxPer; ++t) {
      const int e = lane + 32 * t;
      if (e < d) dot += qv[t] * to_f32(k[e]);
    }
    const float s = warp_sum(dot) * p.scale;
    const float m_new = fmaxf(m, s);
    const float alpha = expf(m - m_new), pj = expf(s - m_new);
    l = l * alpha + pj;
#pragma unroll
    for (int t = 0; t < kMaxPer; ++t) {
      const int e = lane + 32 * t;
      if (e < d) acc[t] = acc[t] * alpha + pj * to_f32(v[e]);
    }
    m = m_new;
  }
  T* out = static_cast<T*>(p.out) + (static_cast<std::size_t>(row) * p.num_heads + head) * d;
  const float inv = 1.0f / l;
#pragma unroll
  for (int t = 0; t < kMaxPer; ++t) {
    const int e = lane + 32 * t;
    if (e < d) out[e] = from_f32<T>(acc[t] * inv);
  }
}

}  // namespace agentrt::kernels::generic
