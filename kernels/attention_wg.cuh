// Tall-tile paged attention on Hopper warpgroup products (wgmma, sm_90a): the kTallRows
// work items of the plan (prefill chunks, cascade prefixes). Two warpgroups of 64 query rows
// share each K/V tile. Per tile, S = Q K^T is one group of m64 x KT products with both
// operands in shared memory (Q and K row-major, 128-byte-swizzled), then the online softmax
// in registers (the accumulator layout is mma.sync's), then O += P V with P from registers
// and V read transposed from the same [keys][D] tile layout. Keys stream through STAGES
// buffers: with 16-token blocks as bulk tensor copies (TMA) that complete on an mbarrier per
// buffer, otherwise by cp.async from every thread, followed by a generic-to-async proxy
// fence. Rows, masks, splits and outputs follow attention_tc_kernel's contract exactly
// (AttnWork, partial buffers of kTallRows rows, log2-sum-exp), so the same plan and combine
// kernels serve both; key ranges start on multiples of 16 (the plan cuts them at multiples
// of its 64-key tile).
#pragma once

#include <cuda_bf16.h>

#include <cstdint>

#include "kernels/attention.h"
#include "kernels/device_math.cuh"
#include "kernels/mma.cuh"
#include "kernels/wgmma.cuh"

namespace agentrt::kernels::wgattn {

using bf16 = __nv_bfloat16;

// KT keys per tile, STAGES tiles in flight. Shared memory: the Q tile, STAGES x (K, V), and
// slack to align the whole to 1024 bytes (the swizzle's period).
template <int D, int KT, int STAGES>
struct Config {
  static constexpr int kThreads = 256;  // two warpgroups
  static constexpr int kQBytes = kTallRows * D * 2;
  static constexpr int kTileBytes = KT * D * 2;
  // TMA: a barrier per buffer (the tile landed), then a counter per buffer of the warps
  // done with its tile.
  static constexpr int kBarOffset = kQBytes + STAGES * 2 * kTileBytes;
  static constexpr int kCountOffset = kBarOffset + STAGES * 8;
  static constexpr int kSmem = kCountOffset + STAGES * 4 + 1024;
  // Head dim 64 keeps few enough registers for two CTAs an SM.
  static constexpr int kMinBlocks = D <= 64 ? 2 : 1;
};

// 2^x on the special function unit (flushes denormal results to zero, as softmax weights
// that small do not count).
__device__ __forceinline__ float fast_exp2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}

// The tile of the oldest of all but PENDING cp.async groups has landed and is visible to the
// products: every thread waited for its own copies, then a barrier.
template <int PENDING>
__device__ __forceinline__ void tile_ready() {
  tc::cp_async_wait<PENDING>();
  wg::fence_shared();
  __syncthreads();
}

// TMA: K and V arrive by bulk tensor copies of whole 16-key blocks (p.kv_map; block_size 16,
// key ranges starting on block boundaries), issued by one warp; otherwise every thread
// copies with cp.async (any block size). PINGPONG (TMA only): the two warpgroups run apart
// and take turns at the tensor cores (see the loop); otherwise they take each tile together.
template <int D, int KT, int STAGES, bool TMA, bool PINGPONG>
__global__ void __launch_bounds__(256, (Config<D, KT, STAGES>::kMinBlocks))
    attention_wg_kernel(const __grid_constant__ AttentionParams p, const AttnWork* works,
                        float* part_o, float* part_lse) {
  using C = Config<D, KT, STAGES>;
  static_assert(D % 64 == 0 && KT % 64 == 0, "whole 128-byte swizzle atoms");
  constexpr int CH = D / 8, ROWS = kTallRows, THREADS = C::kThreads;
  static_assert(ROWS == 128, "two warpgroups of 64 rows");
  extern __shared__ __align__(16) unsigned char smem_raw[];
  unsigned char* const qs = smem_raw + ((1024 - (tc::smem_addr(smem_raw) & 1023)) & 1023);
  unsigned char* const kvs = qs + C::kQBytes;
  pdl_wait();  // q and the new keys come from the kernel before
  const AttnWork w = works[blockIdx.x];
  const AttnChunk c = p.chunks[w.chunk];
  const int kv_heads = p.kv.num_kv_heads, group = p.num_heads / kv_heads;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, wgi = threadIdx.x / 128;
  const int total_rows = c.count * group;

  // Element offset in q / out of tile row `rl`'s (token, head); the row must be live.
  auto row_offset = [&](int rl) {
    const int r = w.row_begin + rl;
    const int head = w.kv_head * group + r % group;
    return (static_cast<std::size_t>(c.row0 + r / group) * p.num_heads + head) * D;
  };
  int pos[2], row_local[2];
  bool live[2];
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    row_local[i] = warp * 16 + lane / 4 + 8 * i;
    const int r = w.row_begin + row_local[i];
    live[i] = r < total_rows;
    pos[i] = live[i] ? c.start_pos + r / group : -1;
  }
  const bf16* q = static_cast<const bf16*>(p.q);
  // Q joins the first cp.async group (dead rows zero-filled).
  for (int i = threadIdx.x; i < ROWS * CH; i += THREADS) {
    const int rl = i / CH, ch = i % CH;
    const bool valid = w.row_begin + rl < total_rows;
    tc::cp_async16(tc::smem_addr(qs + wg::sw128_offset<ROWS>(rl, ch)),
                   valid ? q + row_offset(rl) + ch * 8 : q, valid);
  }

  const bf16* pool = static_cast<const bf16*>(p.kv.pool);
  const int bs = p.kv.block_size;
  const std::size_t slab = static_cast<std::size_t>(bs) * D;
  const std::int32_t* table = p.tables + c.table_offset;
  const std::size_t v_offset = static_cast<std::size_t>(kv_heads) * slab;
  const std::size_t block_stride = static_cast<std::size_t>(p.kv.num_layers) * 2 * kv_heads * slab;
  const bf16* head_base =
      pool + (static_cast<std::size_t>(p.layer) * 2 * kv_heads + w.kv_head) * slab;
  // A thread copies chunk t % CH of key t / CH of each pass of THREADS / CH keys: a warp's
  // copies are contiguous within a block, and the shared-memory offsets are the thread's
  // first plus whole rows.
  constexpr int KPP = THREADS / CH;  // keys per pass
  static_assert(KT % KPP == 0 && KPP % 8 == 0, "passes of whole swizzle periods");
  const int my_key = threadIdx.x / CH, my_ch = threadIdx.x % CH;
  const std::uint32_t my_so = wg::sw128_offset<KT>(my_key, my_ch);
  const std::uint32_t bars = tc::smem_addr(qs + C::kBarOffset);
  auto load_tile = [&](int it) {
    const std::uint32_t kb = tc::smem_addr(kvs + (it % STAGES) * 2 * C::kTileBytes);
    if constexpr (TMA) {
      // The calling warp: one copy per (block, 64 columns, K or V); lane 0 sets the bytes
      // expected.
      constexpr int ATOMS = D / 64;
      const int base = w.kv_begin + it * KT;
      const int blocks = min(KT / 16, (w.kv_end - base + 15) / 16);
      const std::uint32_t bar = bars + (it % STAGES) * 8;
      if (lane == 0) wg::mbar_arrive_expect(bar, blocks * 16 * D * 2 * 2);
      __syncwarp();
      for (int idx = lane; idx < blocks * ATOMS * 2; idx += 32) {
        const int b = idx / (ATOMS * 2), a = (idx / 2) % ATOMS, kv = idx % 2;
        const long long row =
            ((static_cast<long long>(table[(base >> 4) + b]) * p.kv.num_layers + p.layer) * 2 +
             kv) *
                kv_heads +
            w.kv_head;
        wg::tma_load_2d(kb + kv * C::kTileBytes + a * (KT * 128) + b * 16 * 128, &p.kv_map, a * 64,
                        static_cast<int>(row * 16), bar);
      }
      return;
    }
    const int first = w.kv_begin + it * KT + my_key;
#pragma unroll
    for (int r = 0; r < KT / KPP; ++r) {
      const int j = first + r * KPP;
      const bool valid = j < w.kv_end;
      const int blk = bs == 16 ? j >> 4 : j / bs, off = bs == 16 ? j & 15 : j % bs;
      const bf16* ks = valid ? head_base + static_cast<std::size_t>(table[blk]) * block_stride +
                                   (off * D + my_ch * 8)
                             : pool;
      const std::uint32_t so = kb + my_so + r * KPP * 128;
      tc::cp_async16(so, ks, valid);
      tc::cp_async16(so + C::kTileBytes, valid ? ks + v_offset : pool, valid);
    }
  };

  float o[D / 2];
#pragma unroll
  for (int k = 0; k < D / 2; ++k)
    o[k] = 0.0f;
  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};
  const float scale_log2 = p.scale * 1.4426950408889634f;
  const int num_tiles = (w.kv_end - w.kv_begin + KT - 1) / KT;
  const int min_pos = pos[0] < pos[1] ? pos[0] : pos[1];
  const std::uint32_t q_addr = tc::smem_addr(qs) + wgi * 64 * 128;
  auto k_addr = [&](int it) { return tc::smem_addr(kvs + (it % STAGES) * 2 * C::kTileBytes); };

  // S = Q K^T of tile `it` (issued and committed, not awaited).
  auto issue_s = [&](float(&s)[KT / 2], int it) {
    wg::fence();
    const std::uint32_t ka = k_addr(it);
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
      const std::uint32_t atom = kk >> 2, col = (kk & 3) * 32u;
      wg::Mma<KT>::ss(s, wg::sw128_desc(q_addr + atom * (ROWS * 128) + col, 16, 1024),
                      wg::sw128_desc(ka + atom * (KT * 128) + col, 16, 1024), kk > 0);
    }
    wg::commit();
  };
  // O += P V of tile `it` (issued and committed, not awaited).
  auto issue_pv = [&](const std::uint32_t(&pa)[KT / 16][4], int it) {
    wg::fence();
    const std::uint32_t va = k_addr(it) + C::kTileBytes;
#pragma unroll
    for (int ks = 0; ks < KT / 16; ++ks)
      wg::Mma<D>::rs_t(o, pa[ks], wg::sw128_desc(va + ks * 16 * 128, KT * 128, 1024));
    wg::commit();
  };
  // The online softmax over tile `it`'s scores: masks, updates m and l, turns s into P as
  // bf16 A fragments; returns in alpha the factor o must be scaled by before P V is added.
  auto softmax = [&](float(&s)[KT / 2], int it, std::uint32_t(&pa)[KT / 16][4], float(&alpha)[2]) {
    const int base = w.kv_begin + it * KT;
    // Masking is its own pass, taken only by tiles that reach past the range or a row's
    // position: folded into the max loop, it was compiled as selects on every tile (seven
    // instructions a score instead of one).
    if (base + KT > w.kv_end || base + KT - 1 > min_pos) {
#pragma unroll
      for (int i = 0; i < 2; ++i) {
        // This thread's scores at offsets past `last` (from its first column) are masked.
        const int last = min(w.kv_end - 1, pos[i]) - base - (lane % 4) * 2;
#pragma unroll
        for (int nt = 0; nt < KT / 8; ++nt) {
#pragma unroll
          for (int e = 0; e < 2; ++e) {
            if (nt * 8 + e > last) s[4 * nt + 2 * i + e] = -INFINITY;
          }
        }
      }
    }
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      // m is kept in scaled log2 units; the raw scores' max is scaled once.
      float mx = -INFINITY;
#pragma unroll
      for (int nt = 0; nt < KT / 8; ++nt) {
#pragma unroll
        for (int e = 0; e < 2; ++e)
          mx = fmaxf(mx, s[4 * nt + 2 * i + e]);
      }
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
      const float m_new = fmaxf(m[i], mx * scale_log2);
      const float m_use = m_new == -INFINITY ? 0.0f : m_new;
      alpha[i] = fast_exp2(m[i] - m_use);
      float sum = 0.0f;
#pragma unroll
      for (int nt = 0; nt < KT / 8; ++nt) {
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          float& v = s[4 * nt + 2 * i + e];
          v = fast_exp2(fmaf(v, scale_log2, -m_use));
          sum += v;
        }
      }
      l[i] = l[i] * alpha[i] + sum;
      m[i] = m_new;
    }
#pragma unroll
    for (int ks = 0; ks < KT / 16; ++ks) {
      pa[ks][0] = tc::pack_bf16(s[8 * ks], s[8 * ks + 1]);
      pa[ks][1] = tc::pack_bf16(s[8 * ks + 2], s[8 * ks + 3]);
      pa[ks][2] = tc::pack_bf16(s[8 * ks + 4], s[8 * ks + 5]);
      pa[ks][3] = tc::pack_bf16(s[8 * ks + 6], s[8 * ks + 7]);
    }
  };
  auto rescale = [&](const float(&alpha)[2]) {
    if (alpha[0] == 1.0f && alpha[1] == 1.0f) return;  // neither row's max moved
#pragma unroll
    for (int dt = 0; dt < D / 8; ++dt) {
#pragma unroll
      for (int k = 0; k < 4; ++k)
        o[4 * dt + k] *= alpha[k / 2];
    }
  };
  float s[KT / 2];
  std::uint32_t pa[KT / 16][4];
  float alpha[2];
  // TMA: a barrier per buffer, and (ping-pong) its count of warps done with the tile.
  int* const done = reinterpret_cast<int*>(qs + C::kCountOffset);
  if constexpr (TMA) {
    if (threadIdx.x == 0) {
      for (int st = 0; st < STAGES; ++st) {
        wg::mbar_init(bars + st * 8, 1);
        if constexpr (PINGPONG) done[st] = 0;
      }
      wg::mbar_init_fence();
    }
    __syncthreads();
  }
  // TMA: the rows of a tile's last block past kv_end hold whatever the pool has there, and
  // blocks past it stale data, so V's rows from kv_end on are zeroed (a zero weight times a
  // NaN would poison o), by threads first, first + stride, ...; false for a tile that ends
  // inside the range. The caller then makes the zeros visible with a barrier. cp.async
  // zero-fills them itself.
  auto zero_v_tail = [&](int it, int first, int stride) {
    const int base = w.kv_begin + it * KT;
    if (base + KT <= w.kv_end) return false;
    const int r0 = w.kv_end - base;
    unsigned char* vb = kvs + (it % STAGES) * 2 * C::kTileBytes + C::kTileBytes;
    for (int i = first; i < (KT - r0) * CH; i += stride)
      *reinterpret_cast<uint4*>(vb + wg::sw128_offset<KT>(r0 + i / CH, i % CH)) =
          make_uint4(0u, 0u, 0u, 0u);
    wg::fence_shared();
    return true;
  };
  if constexpr (TMA && PINGPONG) {
    static_assert(STAGES >= 3, "a tile loads while the warpgroups are up to two tiles apart");
    // The warpgroups run apart and take turns at the tensor cores (FA3's ping-pong): each
    // issues one tile's O += P V with the next tile's S = Q K^T, then does the next tile's
    // softmax while the other's products run. A buffer is refilled, STAGES tiles ahead, by
    // the last of the eight warps to finish with it. Named barriers: 1 + g, warpgroup g's
    // turn; 3 + g, warpgroup g alone.
    if (warp == 0) {
      for (int st = 0; st < STAGES && st < num_tiles; ++st)
        load_tile(st);
    }
    tc::cp_async_commit();
    tile_ready<0>();  // Q
    // Tile `it` has landed; each warpgroup zeroes V's tail for itself.
    auto wait_tile = [&](int it) {
      wg::mbar_wait(bars + (it % STAGES) * 8, (it / STAGES) & 1);
      if (zero_v_tail(it, threadIdx.x % 128, 128)) {
        if (wgi == 0) {
          wg::bar_sync<3>(128);
        } else {
          wg::bar_sync<4>(128);
        }
      }
    };
    // This warp is done with tile `it`; the last of the eight loads tile it + STAGES there.
    auto release = [&](int it) {
      __syncwarp();
      int before = 0;
      if (lane == 0) {
        __threadfence_block();
        before = atomicAdd(done + it % STAGES, 1);
      }
      before = __shfl_sync(0xffffffffu, before, 0);
      if ((before & 7) == 7 && it + STAGES < num_tiles) load_tile(it + STAGES);
    };
    auto my_turn = [&] {
      if (wgi == 0) {
        wg::bar_sync<1>(256);
      } else {
        wg::bar_sync<2>(256);
      }
    };
    auto their_turn = [&] {
      if (wgi == 0) {
        wg::bar_arrive<2>(256);
      } else {
        wg::bar_arrive<1>(256);
      }
    };
    if (num_tiles > 0) {
      if (wgi == 1) wg::bar_arrive<1>(256);  // warpgroup 0 goes first
      wait_tile(0);
      my_turn();
      issue_s(s, 0);
      their_turn();
      wg::wait<0>();
      wg::fence_regs(s);
      softmax(s, 0, pa, alpha);
    }
    for (int it = 0; it < num_tiles; ++it) {
      const bool next = it + 1 < num_tiles;
      rescale(alpha);
      if (next) wait_tile(it + 1);
      my_turn();
      issue_pv(pa, it);
      if (next) issue_s(s, it + 1);
      // Warpgroup 1's last turn is the last of all: nobody waits for it.
      if (next || wgi == 0) their_turn();
      wg::wait<0>();
      wg::fence_regs(o);
      wg::fence_regs(s);
      release(it);
      if (next) softmax(s, it + 1, pa, alpha);
    }
  } else {
    // Lockstep: both warpgroups take each tile together. TMA: tile `it` has arrived.
    auto wait_tile = [&](int it) {
      if constexpr (TMA) {
        wg::mbar_wait(bars + (it % STAGES) * 8, (it / STAGES) & 1);
        if (zero_v_tail(it, threadIdx.x, THREADS)) __syncthreads();
      }
    };
    // cp.async: every step commits one group (maybe empty), tile t's in group t.
#pragma unroll
    for (int st = 0; st < STAGES - 1; ++st) {
      if (st < num_tiles && (!TMA || warp == 0)) load_tile(st);
      if constexpr (!TMA) tc::cp_async_commit();
    }
    if constexpr (TMA) {
      tc::cp_async_commit();
      tile_ready<0>();  // Q
    }
    for (int it = 0; it < num_tiles; ++it) {
      // Tile it-1's buffer is free (and with cp.async, tile it has landed).
      if constexpr (TMA) {
        __syncthreads();
      } else {
        tile_ready<STAGES - 2>();
      }
      if (it + STAGES - 1 < num_tiles && (!TMA || warp == 0)) load_tile(it + STAGES - 1);
      if constexpr (!TMA) tc::cp_async_commit();
      wait_tile(it);
      issue_s(s, it);
      wg::wait<0>();
      wg::fence_regs(s);
      softmax(s, it, pa, alpha);
      rescale(alpha);
      issue_pv(pa, it);
      wg::wait<0>();
      wg::fence_regs(o);
    }
  }
  tc::cp_async_wait<0>();
  pdl_trigger();  // the keys are read: the next kernel may start launching
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    l[i] += __shfl_xor_sync(0xffffffffu, l[i], 1);
    l[i] += __shfl_xor_sync(0xffffffffu, l[i], 2);
  }

  bf16* out = static_cast<bf16*>(p.out);
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    const float inv = l[i] > 0.0f ? 1.0f / l[i] : 0.0f;
    if (!live[i]) continue;
    if (w.partial < 0) {
      const std::size_t off = row_offset(row_local[i]);
#pragma unroll
      for (int dt = 0; dt < D / 8; ++dt) {
        const int col = dt * 8 + (lane % 4) * 2;
        *reinterpret_cast<std::uint32_t*>(out + off + col) =
            tc::pack_bf16(o[4 * dt + 2 * i] * inv, o[4 * dt + 2 * i + 1] * inv);
      }
    } else {
      const std::size_t slot = static_cast<std::size_t>(w.partial) * ROWS + row_local[i];
      float* po = part_o + slot * D;
#pragma unroll
      for (int dt = 0; dt < D / 8; ++dt) {
        const int col = dt * 8 + (lane % 4) * 2;
        *reinterpret_cast<float2*>(po + col) =
            make_float2(o[4 * dt + 2 * i] * inv, o[4 * dt + 2 * i + 1] * inv);
      }
      if (lane % 4 == 0) part_lse[slot] = l[i] > 0.0f ? m[i] + log2f(l[i]) : -INFINITY;
    }
  }
}

}  // namespace agentrt::kernels::wgattn
