// Tensor-core paged attention for 16-row tiles (decodes, short chunks; bf16 in, f32 softmax
// and accumulators), FlashAttention-2 style on mma.sync: the tile's 16 query rows are
// (token, q head) pairs of one kv head's group. Tall tiles run on attention_wg.cuh's wgmma
// kernel under the same work-item contract; the combine kernels here serve both. Keys stream
// through shared memory in tiles (cp.async, STAGES deep, XOR-swizzled 16-byte chunks so ldmatrix is
// conflict-free); S = QK^T and O += PV use mma.m16n8k16. With 16-token blocks a tile is
// copied block by block: a block's K (or V) of one kv head is contiguous, so consecutive
// threads copy consecutive 16 bytes. For decode (one row group), KSPLIT warps share the
// rows and split each tile's keys, then merge their softmax states through shared memory.
// A work item may cover one split of the key range; its normalized partial result and
// log2-sum-exp go to the partial buffers.
#pragma once

#include <cuda_bf16.h>

#include <cstdint>

#include "kernels/attention.h"
#include "kernels/device_math.cuh"
#include "kernels/mma.cuh"

namespace agentrt::kernels::tc {

using bf16 = __nv_bfloat16;

__device__ __forceinline__ std::uint32_t load_u32(const bf16* p) {
  return *reinterpret_cast<const std::uint32_t*>(p);
}

// Byte offset of 16-byte chunk `ch` of key row `key` in a [keys][D] bf16 tile.
template <int D>
__device__ __forceinline__ std::uint32_t tile_offset(int key, int ch) {
  return static_cast<std::uint32_t>((key * (D / 8) + (ch ^ (key & 7))) * 16);
}

// Shared memory of one configuration: K and V tiles of KT keys, STAGES deep, and room for
// the KSPLIT warps' merge (m and l per row, the o fragments of all but one warp).
template <int D, int KT, int STAGES, int KSPLIT = 1>
constexpr int smem_bytes() {
  constexpr int tiles = STAGES * 2 * KT * D * 2;
  constexpr int merge = KSPLIT > 1 ? (KSPLIT * 32 + (KSPLIT - 1) * 32 * (D / 2)) * 4 : 0;
  return tiles > merge ? tiles : merge;
}

// Merges the softmax states of KSPLIT warps that shared one 16-row group over disjoint keys:
// afterwards warp 0 holds the merged m, l and o; it returns false for the other warps, which
// must then leave. Shared memory is reused, so every cp.async must have completed.
template <int D, int KSPLIT>
__device__ __forceinline__ bool merge_key_splits(unsigned char* smem, int kwarp, int lane,
                                                 float (&o)[D / 8][4], float (&m)[2],
                                                 float (&l)[2]) {
  float* ml = reinterpret_cast<float*>(smem);  // [KSPLIT][16 rows][m, l]
  float* ob = ml + KSPLIT * 32;                // [KSPLIT - 1][D / 2 values][32 lanes]
  __syncthreads();                             // every warp is done with the tiles
  if (lane % 4 == 0) {
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      const int r = lane / 4 + 8 * i;
      ml[(kwarp * 16 + r) * 2] = m[i];
      ml[(kwarp * 16 + r) * 2 + 1] = l[i];
    }
  }
  __syncthreads();
  float f[2];
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    const int r = lane / 4 + 8 * i;
    float mx = -INFINITY, sum = 0.0f;
#pragma unroll
    for (int k = 0; k < KSPLIT; ++k)
      mx = fmaxf(mx, ml[(k * 16 + r) * 2]);
#pragma unroll
    for (int k = 0; k < KSPLIT; ++k) {
      const float mk = ml[(k * 16 + r) * 2];
      if (mk != -INFINITY) sum += ml[(k * 16 + r) * 2 + 1] * exp2f(mk - mx);
    }
    f[i] = m[i] == -INFINITY ? 0.0f : exp2f(m[i] - mx);
    m[i] = mx;
    l[i] = sum;
  }
  if (kwarp > 0) {
    float* mine = ob + (kwarp - 1) * (D / 2) * 32;
#pragma unroll
    for (int dt = 0; dt < D / 8; ++dt) {
#pragma unroll
      for (int e = 0; e < 4; ++e)
        mine[(dt * 4 + e) * 32 + lane] = o[dt][e] * f[e / 2];
    }
  }
  __syncthreads();
  if (kwarp > 0) return false;
#pragma unroll
  for (int dt = 0; dt < D / 8; ++dt) {
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      float v = o[dt][e] * f[e / 2];
#pragma unroll
      for (int k = 1; k < KSPLIT; ++k)
        v += ob[((k - 1) * (D / 2) + dt * 4 + e) * 32 + lane];
      o[dt][e] = v;
    }
  }
  return true;
}

// KSPLIT warps share the 16 rows and split each tile's keys; KT keys per tile; STAGES tiles
// in flight (cp.async groups). Q stays in registers.
template <int D, int KT, int STAGES, int KSPLIT>
__global__ void __launch_bounds__(KSPLIT * 32)
    attention_tc_kernel(AttentionParams p, const AttnWork* works, float* part_o, float* part_lse) {
  constexpr int CH = D / 8, ROWS = 16, THREADS = KSPLIT * 32, KW = KT / KSPLIT;
  static_assert(KW % 16 == 0, "each warp's share of a tile is whole 16-key steps");
  constexpr int TILE_BYTES = KT * D * 2;
  extern __shared__ __align__(16) unsigned char smem[];  // STAGES x (K tile, V tile)
  pdl_wait();  // q and the new keys come from the kernel before
  const AttnWork w = works[blockIdx.x];
  const AttnChunk c = p.chunks[w.chunk];
  const int kv_heads = p.kv.num_kv_heads, group = p.num_heads / kv_heads;
  const int kwarp = threadIdx.x / 32, lane = threadIdx.x % 32, k0 = kwarp * KW;
  const int total_rows = c.count * group;

  int pos[2], row_local[2];
  std::size_t row_off[2];  // each row's offset in q / out
  bool live[2];
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    row_local[i] = lane / 4 + 8 * i;
    const int r = w.row_begin + row_local[i];
    live[i] = r < total_rows;
    const int t = live[i] ? r / group : 0;
    const int head = w.kv_head * group + (live[i] ? r % group : 0);
    pos[i] = live[i] ? c.start_pos + t : -1;
    row_off[i] = (static_cast<std::size_t>(c.row0 + t) * p.num_heads + head) * D;
  }
  const bf16* q = static_cast<const bf16*>(p.q);
  std::uint32_t qf[D / 16][4];
#pragma unroll
  for (int kk = 0; kk < D / 16; ++kk) {
    const int col = kk * 16 + (lane % 4) * 2;
    qf[kk][0] = live[0] ? load_u32(q + row_off[0] + col) : 0u;
    qf[kk][1] = live[1] ? load_u32(q + row_off[1] + col) : 0u;
    qf[kk][2] = live[0] ? load_u32(q + row_off[0] + col + 8) : 0u;
    qf[kk][3] = live[1] ? load_u32(q + row_off[1] + col + 8) : 0u;
  }

  const bf16* pool = static_cast<const bf16*>(p.kv.pool);
  const int bs = p.kv.block_size;
  const std::size_t slab = static_cast<std::size_t>(bs) * D;
  const std::int32_t* table = p.tables + c.table_offset;
  auto kv_src = [&](int j, int kv) {
    const std::size_t block = static_cast<std::size_t>(table[j / bs]);
    return pool + (((block * p.kv.num_layers + p.layer) * 2 + kv) * kv_heads + w.kv_head) * slab +
           static_cast<std::size_t>(j % bs) * D;
  };
  const int num_tiles = (w.kv_end - w.kv_begin + KT - 1) / KT;
  // Threads per key row: each computes its key's address once and copies CH / TPK chunks.
  constexpr int TPK = THREADS >= KT ? THREADS / KT : 1;
  constexpr int KEYS_PER_PASS = THREADS / TPK, CPT = CH / TPK;
  static_assert(CH % TPK == 0, "chunks per key must split evenly");
  const std::size_t v_offset = static_cast<std::size_t>(kv_heads) * slab;
  const std::size_t block_stride = static_cast<std::size_t>(p.kv.num_layers) * 2 * kv_heads * slab;
  const bf16* head_base =
      pool + (static_cast<std::size_t>(p.layer) * 2 * kv_heads + w.kv_head) * slab;
  // 16-token blocks: copy index i of a tile is key i / CH, chunk i % CH, so a warp's copies
  // are contiguous within a block (tiles start at multiples of 16 keys: kv_begin is a
  // multiple of the plan's key tile).
  auto load_tile16 = [&](unsigned char* kb, unsigned char* vb, int base) {
#pragma unroll
    for (int i = threadIdx.x; i < KT * CH; i += THREADS) {
      const int key = i / CH, ch = i % CH, j = base + key;
      const bool valid = j < w.kv_end;
      const bf16* ks = valid ? head_base + static_cast<std::size_t>(table[j >> 4]) * block_stride +
                                   (j & 15) * D + ch * 8
                             : pool;
      const bf16* vs = valid ? ks + v_offset : pool;
      const std::uint32_t off = tile_offset<D>(key, ch);
      cp_async16(smem_addr(kb + off), ks, valid);
      cp_async16(smem_addr(vb + off), vs, valid);
    }
  };
  auto load_tile = [&](int it) {
    unsigned char* kb = smem + (it % STAGES) * 2 * TILE_BYTES;
    unsigned char* vb = kb + TILE_BYTES;
    const int base = w.kv_begin + it * KT;
    if (bs == 16) return load_tile16(kb, vb, base);
    const int sub = threadIdx.x % TPK;
    for (int key = threadIdx.x / TPK; key < KT; key += KEYS_PER_PASS) {
      const int j = base + key;
      const bool valid = j < w.kv_end;
      const bf16* ks = valid ? kv_src(j, 0) : pool;
      const bf16* vs = valid ? ks + v_offset : pool;
#pragma unroll
      for (int c = 0; c < CPT; ++c) {
        const int ch = sub * CPT + c;
        const std::uint32_t off = tile_offset<D>(key, ch);
        cp_async16(smem_addr(kb + off), ks + ch * 8, valid);
        cp_async16(smem_addr(vb + off), vs + ch * 8, valid);
      }
    }
  };

  float o[D / 8][4];
#pragma unroll
  for (int dt = 0; dt < D / 8; ++dt)
    o[dt][0] = o[dt][1] = o[dt][2] = o[dt][3] = 0.0f;
  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};
  const float scale_log2 = p.scale * 1.4426950408889634f;

  // Prologue: STAGES - 1 tiles in flight; every iteration commits one group (maybe empty),
  // so waiting for all but STAGES - 2 groups means tile `it` has landed.
#pragma unroll
  for (int st = 0; st < STAGES - 1; ++st) {
    if (st < num_tiles) load_tile(st);
    cp_async_commit();
  }
  for (int it = 0; it < num_tiles; ++it) {
    cp_async_wait<STAGES - 2>();
    __syncthreads();  // tile `it` is visible; tile it-1's buffer is free for the next load
    if (it + STAGES - 1 < num_tiles) load_tile(it + STAGES - 1);
    cp_async_commit();
    const unsigned char* kb = smem + (it % STAGES) * 2 * TILE_BYTES;
    const unsigned char* vb = kb + TILE_BYTES;
    float s[KW / 8][4];
#pragma unroll
    for (int nt = 0; nt < KW / 8; ++nt) {
      s[nt][0] = s[nt][1] = s[nt][2] = s[nt][3] = 0.0f;
#pragma unroll
      for (int kk = 0; kk < D / 16; kk += 2) {
        std::uint32_t b[4];
        const int key = k0 + nt * 8 + (lane & 7);
        ldmatrix_x4(b, smem_addr(kb + tile_offset<D>(key, kk * 2 + (lane >> 3))));
        mma(s[nt], qf[kk], b[0], b[1]);
        mma(s[nt], qf[kk + 1], b[2], b[3]);
      }
    }
    const int base = w.kv_begin + it * KT + k0;
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      float mx = -INFINITY;
#pragma unroll
      for (int nt = 0; nt < KW / 8; ++nt) {
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const int j = base + nt * 8 + (lane % 4) * 2 + e;
          float& v = s[nt][2 * i + e];
          v = (j < w.kv_end && j <= pos[i]) ? v * scale_log2 : -INFINITY;
          mx = fmaxf(mx, v);
        }
      }
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
      const float m_new = fmaxf(m[i], mx);
      const float m_use = m_new == -INFINITY ? 0.0f : m_new;
      const float alpha = exp2f(m[i] - m_use);
      float sum = 0.0f;
#pragma unroll
      for (int nt = 0; nt < KW / 8; ++nt) {
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          float& v = s[nt][2 * i + e];
          v = exp2f(v - m_use);
          sum += v;
        }
      }
      l[i] = l[i] * alpha + sum;
      m[i] = m_new;
#pragma unroll
      for (int dt = 0; dt < D / 8; ++dt) {
        o[dt][2 * i] *= alpha;
        o[dt][2 * i + 1] *= alpha;
      }
    }
#pragma unroll
    for (int ks = 0; ks < KW / 16; ++ks) {
      const std::uint32_t a[4] = {pack_bf16(s[2 * ks][0], s[2 * ks][1]),
                                  pack_bf16(s[2 * ks][2], s[2 * ks][3]),
                                  pack_bf16(s[2 * ks + 1][0], s[2 * ks + 1][1]),
                                  pack_bf16(s[2 * ks + 1][2], s[2 * ks + 1][3])};
#pragma unroll
      for (int dt = 0; dt < D / 8; dt += 2) {
        std::uint32_t b[4];
        const int key = k0 + ks * 16 + ((lane >> 3) & 1) * 8 + (lane & 7);
        ldmatrix_x4_trans(b, smem_addr(vb + tile_offset<D>(key, dt + (lane >> 4))));
        mma(o[dt], a, b[0], b[1]);
        mma(o[dt + 1], a, b[2], b[3]);
      }
    }
  }
  cp_async_wait<0>();
  pdl_trigger();  // the keys are read: the next kernel may start launching
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    l[i] += __shfl_xor_sync(0xffffffffu, l[i], 1);
    l[i] += __shfl_xor_sync(0xffffffffu, l[i], 2);
  }
  if constexpr (KSPLIT > 1) {
    if (!merge_key_splits<D, KSPLIT>(smem, kwarp, lane, o, m, l)) return;
  }

  bf16* out = static_cast<bf16*>(p.out);
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    const float inv = l[i] > 0.0f ? 1.0f / l[i] : 0.0f;
    if (!live[i]) continue;
    if (w.partial < 0) {
      const std::size_t off = row_off[i];
#pragma unroll
      for (int dt = 0; dt < D / 8; ++dt) {
        const int col = dt * 8 + (lane % 4) * 2;
        *reinterpret_cast<std::uint32_t*>(out + off + col) =
            pack_bf16(o[dt][2 * i] * inv, o[dt][2 * i + 1] * inv);
      }
    } else {
      const std::size_t slot = static_cast<std::size_t>(w.partial) * ROWS + row_local[i];
      float* po = part_o + slot * D;
#pragma unroll
      for (int dt = 0; dt < D / 8; ++dt) {
        const int col = dt * 8 + (lane % 4) * 2;
        po[col] = o[dt][2 * i] * inv;
        po[col + 1] = o[dt][2 * i + 1] * inv;
      }
      if (lane % 4 == 0) part_lse[slot] = l[i] > 0.0f ? m[i] + log2f(l[i]) : -INFINITY;
    }
  }
}

// One block per (combine entry, tile row): weights each split by 2^(lse - max lse).
template <int ROWS>
__global__ void combine_kernel(AttentionParams p, const AttnCombine* entries, const float* part_o,
                               const float* part_lse) {
  pdl_trigger();
  pdl_wait();
  const AttnCombine e = entries[blockIdx.x];
  const int rl = blockIdx.y;
  const AttnChunk c = p.chunks[e.chunk];
  const int group = p.num_heads / p.kv.num_kv_heads, d = p.kv.head_dim;
  const int r = e.row_begin + rl;
  if (r >= c.count * group) return;
  const int t = r / group, head = e.kv_head * group + r % group;
  float mx = -INFINITY;
  for (int s = 0; s < e.splits; ++s)
    mx = fmaxf(mx, part_lse[static_cast<std::size_t>(e.first + s) * ROWS + rl]);
  bf16* out =
      static_cast<bf16*>(p.out) + (static_cast<std::size_t>(c.row0 + t) * p.num_heads + head) * d;
  for (int i = threadIdx.x; i < d; i += blockDim.x) {
    float acc = 0.0f, wsum = 0.0f;
    for (int s = 0; s < e.splits; ++s) {
      const std::size_t slot = static_cast<std::size_t>(e.first + s) * ROWS + rl;
      const float lse = part_lse[slot];
      const float wgt = lse == -INFINITY ? 0.0f : exp2f(lse - mx);
      acc += wgt * part_o[slot * d + i];
      wsum += wgt;
    }
    out[i] = __float2bfloat16_rn(wsum > 0.0f ? acc / wsum : 0.0f);
  }
}

// One block per (cascade entry, head of the group): merges the prefix splits (tall
// partials) with the sequence's own splits (16-row partials), as combine_kernel does. The
// first warp turns the sources' log-sum-exps into weights once; every thread then sums its
// columns over the sources.
__global__ void cascade_combine_kernel(AttentionParams p) {
  __shared__ float weight[kMaxCascadeSources];
  pdl_trigger();
  pdl_wait();
  const AttnCascade e = p.cascade[blockIdx.x];
  const int rl = blockIdx.y, n = e.prefix_splits + e.suffix_splits;
  const AttnChunk c = p.chunks[e.chunk];
  const int group = p.num_heads / p.kv.num_kv_heads, d = p.kv.head_dim;
  const int head = e.kv_head * group + rl;
  auto slot = [&](int s) {
    return s < e.prefix_splits
               ? static_cast<std::size_t>(e.prefix_first + s) * kTallRows + e.prefix_row + rl
               : static_cast<std::size_t>(e.suffix_first + s - e.prefix_splits) * 16 + rl;
  };
  auto lse_of = [&](int s) {
    return s < e.prefix_splits ? p.partial_lse_tall[slot(s)] : p.partial_lse16[slot(s)];
  };
  if (threadIdx.x < 32) {
    float lse[kMaxCascadeSources / 32];
    float mx = -INFINITY;
#pragma unroll
    for (int k = 0; k < kMaxCascadeSources / 32; ++k) {
      const int s = threadIdx.x + 32 * k;
      lse[k] = s < n ? lse_of(s) : -INFINITY;
      mx = fmaxf(mx, lse[k]);
    }
    for (int o = 16; o > 0; o >>= 1)
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
    float w[kMaxCascadeSources / 32], sum = 0.0f;
#pragma unroll
    for (int k = 0; k < kMaxCascadeSources / 32; ++k) {
      w[k] = lse[k] == -INFINITY ? 0.0f : exp2f(lse[k] - mx);
      sum += w[k];
    }
    for (int o = 16; o > 0; o >>= 1)
      sum += __shfl_xor_sync(0xffffffffu, sum, o);
    const float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
#pragma unroll
    for (int k = 0; k < kMaxCascadeSources / 32; ++k) {
      const int s = threadIdx.x + 32 * k;
      if (s < n) weight[s] = w[k] * inv;
    }
  }
  __syncthreads();
  bf16* out =
      static_cast<bf16*>(p.out) + (static_cast<std::size_t>(c.row0) * p.num_heads + head) * d;
  const float* prefix_o = p.partial_o_tall;
  const float* own_o = p.partial_o16;
  for (int i = threadIdx.x; i < d; i += blockDim.x) {
    float acc = 0.0f;
#pragma unroll 8
    for (int s = 0; s < e.prefix_splits; ++s)
      acc += weight[s] * prefix_o[slot(s) * d + i];
#pragma unroll 4
    for (int s = e.prefix_splits; s < n; ++s)
      acc += weight[s] * own_o[slot(s) * d + i];
    out[i] = __float2bfloat16_rn(acc);
  }
}

}  // namespace agentrt::kernels::tc
