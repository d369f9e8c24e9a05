#include "engine/cpu/attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/cpu/cpu_isa.h"
#include "engine/cpu/simd_ops.h"

namespace agentrt::cpu {
namespace {

constexpr int kHeadsPerPass = 8;  // query heads whose scores share one read of K and V

// Block and slot of key j: shifts for the usual power-of-two block sizes (a 64-bit division
// per key cost more than the key's dot product at head_dim 64).
struct KeySlot {
  explicit KeySlot(std::size_t block_size)
      : bs(block_size),
        shift(static_cast<unsigned>(__builtin_ctzll(block_size))),
        pow2((block_size & (block_size - 1)) == 0) {}
  std::size_t block(std::size_t j) const { return pow2 ? j >> shift : j / bs; }
  int slot(std::size_t j) const { return static_cast<int>(pow2 ? j & (bs - 1) : j % bs); }
  std::size_t bs;
  unsigned shift;
  bool pow2;
};

template <class Ops>
void attend_rows(const AttentionArgs& a, const ChunkRows& chunk, int kv_head, int first, int count,
                 std::vector<float>& scratch) {
  const KeySlot ks(static_cast<std::size_t>(a.kv->geometry().block_size));
  const int group = a.num_heads / a.num_kv_heads;
  const auto d = static_cast<std::size_t>(a.head_dim);
  const std::size_t kv_off = static_cast<std::size_t>(kv_head) * d;
  const auto& table = *chunk.block_table;
  const auto max_len = static_cast<std::size_t>(chunk.start_pos + first + count);
  scratch.resize(static_cast<std::size_t>(std::min(group, kHeadsPerPass)) * max_len);
  for (int i = first; i < first + count; ++i) {
    const std::size_t row = static_cast<std::size_t>(chunk.row0 + i);
    const int pos = chunk.start_pos + i;
    const auto len = static_cast<std::size_t>(pos + 1);
    for (int h0 = 0; h0 < group; h0 += kHeadsPerPass) {
      const int g = std::min(kHeadsPerPass, group - h0);
      const float* q[kHeadsPerPass];
      float* out[kHeadsPerPass];
      float mx[kHeadsPerPass], inv[kHeadsPerPass];
      for (int k = 0; k < g; ++k) {
        const auto head = static_cast<std::size_t>(kv_head * group + h0 + k);
        q[k] = a.q + row * a.q_stride + head * d;
        out[k] = a.out + row * a.out_stride + head * d;
        mx[k] = -INFINITY;
      }
      float* s = scratch.data();
      for (std::size_t j = 0; j < len; ++j) {
        const float* kp = a.kv->k(a.layer, table[ks.block(j)], ks.slot(j)) + kv_off;
        for (int k = 0; k < g; ++k) {
          const float v = Ops::dot(q[k], kp, d) * a.scale;
          s[static_cast<std::size_t>(k) * len + j] = v;
          mx[k] = std::max(mx[k], v);
        }
      }
      for (int k = 0; k < g; ++k) {
        inv[k] = 1.0f / Ops::exp_sum(s + static_cast<std::size_t>(k) * len, len, mx[k]);
        std::fill_n(out[k], d, 0.0f);
      }
      for (std::size_t j = 0; j < len; ++j) {
        const float* vp = a.kv->v(a.layer, table[ks.block(j)], ks.slot(j)) + kv_off;
        for (int k = 0; k < g; ++k)
          Ops::axpy(out[k], s[static_cast<std::size_t>(k) * len + j] * inv[k], vp, d);
      }
    }
  }
}

// AVX-512 fast path for head_dim = 16 * ND (64 and 128): scores for 16 keys at a time,
// summed across lanes by one transpose tree instead of a reduction per key, and the output
// accumulated in registers.
__attribute__((target("avx512f"), always_inline)) inline __m512 sum16(__m512 v[16]) {
  __m512 a[8], b[4], c[2];
#pragma GCC unroll 16
  for (int i = 0; i < 8; ++i)
    a[i] = _mm512_add_ps(_mm512_unpacklo_ps(v[2 * i], v[2 * i + 1]),
                         _mm512_unpackhi_ps(v[2 * i], v[2 * i + 1]));
#pragma GCC unroll 16
  for (int i = 0; i < 4; ++i) {
    const __m512d x = _mm512_castps_pd(a[2 * i]), y = _mm512_castps_pd(a[2 * i + 1]);
    b[i] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(x, y)),
                         _mm512_castpd_ps(_mm512_unpackhi_pd(x, y)));
  }
#pragma GCC unroll 16
  for (int i = 0; i < 2; ++i)
    c[i] = _mm512_add_ps(_mm512_shuffle_f32x4(b[2 * i], b[2 * i + 1], 0x88),
                         _mm512_shuffle_f32x4(b[2 * i], b[2 * i + 1], 0xdd));
  return _mm512_add_ps(_mm512_shuffle_f32x4(c[0], c[1], 0x88),
                       _mm512_shuffle_f32x4(c[0], c[1], 0xdd));
}

// What every row of one fixed-size call reads: the kv head's K and V, the chunk's positions.
struct FixedCtx {
  const AttentionArgs* a;
  const ChunkRows* chunk;
  KeySlot ks;
  std::size_t kv_off;
  std::size_t stride;  // floats from one token slot to the next
  const float* k(std::size_t j) const {
    return a->kv->k(a->layer, (*chunk->block_table)[ks.block(j)], ks.slot(j)) + kv_off;
  }
  const float* v_block(std::size_t j) const {  // slot 0 of the block that holds key j
    return a->kv->v(a->layer, (*chunk->block_table)[ks.block(j)], 0) + kv_off;
  }
};

// One query row of one head: scores for 16 keys at a time (one K read each), softmax, then
// P . V with U * ND independent FMA chains (one set of ND accumulates keys 0, U, 2U, .. of a
// block, the next keys 1, U + 1, ..): ND chains alone waited on the FMA latency. The order
// depends only on the row's length and the block size. Decode rows always come here, so a
// decode row's output does not depend on the rest of the batch.
template <int ND>
__attribute__((target("avx512f"), always_inline)) inline void attend_row512(const FixedCtx& x,
                                                                            const float* q,
                                                                            std::size_t len,
                                                                            float* s, float* o) {
  const AttentionArgs& a = *x.a;
  __m512 qv[ND];
#pragma GCC unroll 16
  for (int c = 0; c < ND; ++c)
    qv[c] = _mm512_loadu_ps(q + 16 * c);
  __m512 mx = _mm512_set1_ps(-INFINITY);
  const __m512 scale = _mm512_set1_ps(a.scale);
  for (std::size_t j0 = 0; j0 < len; j0 += 16) {
    const std::size_t n = std::min<std::size_t>(16, len - j0);
    __m512 acc[16];
#pragma GCC unroll 16
    for (std::size_t k = 0; k < 16; ++k) {
      acc[k] = _mm512_setzero_ps();
      if (k >= n) continue;
      const float* kp = x.k(j0 + k);
#pragma GCC unroll 16
      for (int c = 0; c < ND; ++c)
        acc[k] = _mm512_fmadd_ps(qv[c], _mm512_loadu_ps(kp + 16 * c), acc[k]);
    }
    const auto m = static_cast<__mmask16>(n == 16 ? 0xffffu : (1u << n) - 1);
    const __m512 sc = _mm512_mul_ps(sum16(acc), scale);
    _mm512_mask_storeu_ps(s + j0, m, sc);
    mx = _mm512_mask_max_ps(mx, m, mx, sc);
  }
  const float inv = 1.0f / simd::Avx512Ops::exp_sum(s, len, _mm512_reduce_max_ps(mx));
  constexpr int U = 16 / ND;
  __m512 out[U][ND];
#pragma GCC unroll 16
  for (int u = 0; u < U; ++u)
#pragma GCC unroll 16
    for (int c = 0; c < ND; ++c)
      out[u][c] = _mm512_setzero_ps();
  for (std::size_t b0 = 0; b0 < len; b0 += x.ks.bs) {
    const std::size_t n = std::min(x.ks.bs, len - b0);
    const float* vb = x.v_block(b0);
    const float* sb = s + b0;
    std::size_t j = 0;
    for (; j + U <= n; j += U) {
#pragma GCC unroll 16
      for (int u = 0; u < U; ++u) {
        const __m512 p = _mm512_set1_ps(sb[j + u]);
        const float* vp = vb + (j + u) * x.stride;
#pragma GCC unroll 16
        for (int c = 0; c < ND; ++c)
          out[u][c] = _mm512_fmadd_ps(p, _mm512_loadu_ps(vp + 16 * c), out[u][c]);
      }
    }
    for (; j < n; ++j) {
      const __m512 p = _mm512_set1_ps(sb[j]);
      const float* vp = vb + j * x.stride;
#pragma GCC unroll 16
      for (int c = 0; c < ND; ++c)
        out[0][c] = _mm512_fmadd_ps(p, _mm512_loadu_ps(vp + 16 * c), out[0][c]);
    }
  }
#pragma GCC unroll 16
  for (int u = 1; u < U; ++u)
#pragma GCC unroll 16
    for (int c = 0; c < ND; ++c)
      out[0][c] = _mm512_add_ps(out[0][c], out[u][c]);
  const __m512 vinv = _mm512_set1_ps(inv);
#pragma GCC unroll 16
  for (int c = 0; c < ND; ++c)
    _mm512_storeu_ps(o + 16 * c, _mm512_mul_ps(out[0][c], vinv));
}

// R = 16 / ND consecutive query rows of one head (prefill): each K and V vector is read once
// for the R rows (from L2: reading it once per row made long prompts L2-bound). The rows'
// lengths are len0, len0 + 1, ..; keys past a row's length get probability 0. A row's scores
// and probabilities equal attend_row512's (same products, same sum tree); P . V sums its keys
// in order, one chain per (row, 16 floats), so the output may differ from attend_row512's in
// the last bits. Tiles start at the call's first row; the CPU backend's calls start at
// multiples of 16 rows of a chunk whatever its thread count, so which rows share a tile, and
// so every output, does not depend on the number of threads.
template <int ND>
__attribute__((target("avx512f"), always_inline)) inline void attend_tile512(
    const FixedCtx& x, const float* const* q, std::size_t len0, float* s, std::size_t ls,
    float* const* o) {
  constexpr int R = 16 / ND;  // rows
  constexpr int J = ND;       // keys per score tile: R * J = 16 accumulators
  const AttentionArgs& a = *x.a;
  const std::size_t last = len0 + R - 1;  // keys [0, last) over the tile's rows
  const __m512 scale = _mm512_set1_ps(a.scale);
  alignas(64) float tmp[16];
  for (std::size_t j0 = 0; j0 < last; j0 += J) {
    __m512 acc[16];
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i)
      acc[i] = _mm512_setzero_ps();
#pragma GCC unroll 16
    for (int jj = 0; jj < J; ++jj) {
      const float* kp = x.k(std::min(j0 + static_cast<std::size_t>(jj), last - 1));
#pragma GCC unroll 16
      for (int c = 0; c < ND; ++c) {
        const __m512 kv = _mm512_loadu_ps(kp + 16 * c);
#pragma GCC unroll 16
        for (int r = 0; r < R; ++r)
          acc[r * J + jj] = _mm512_fmadd_ps(_mm512_loadu_ps(q[r] + 16 * c), kv, acc[r * J + jj]);
      }
    }
    _mm512_store_ps(tmp, _mm512_mul_ps(sum16(acc), scale));
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r)
      std::memcpy(s + static_cast<std::size_t>(r) * ls + j0, tmp + r * J, sizeof(float) * J);
  }
  float inv[R];
  for (int r = 0; r < R; ++r) {
    float* sr = s + static_cast<std::size_t>(r) * ls;
    const std::size_t len = len0 + static_cast<std::size_t>(r);
    __m512 mx = _mm512_set1_ps(-INFINITY);
    for (std::size_t j = 0; j < len; j += 16) {
      const auto m = static_cast<__mmask16>(len - j >= 16 ? 0xffffu : (1u << (len - j)) - 1);
      mx = _mm512_mask_max_ps(mx, m, mx, _mm512_maskz_loadu_ps(m, sr + j));
    }
    inv[r] = 1.0f / simd::Avx512Ops::exp_sum(sr, len, _mm512_reduce_max_ps(mx));
    std::fill(sr + len, sr + last, 0.0f);
  }
  __m512 out[R][ND];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
    for (int c = 0; c < ND; ++c)
      out[r][c] = _mm512_setzero_ps();
  for (std::size_t b0 = 0; b0 < last; b0 += x.ks.bs) {
    const std::size_t n = std::min(x.ks.bs, last - b0);
    const float* vb = x.v_block(b0);
    for (std::size_t j = 0; j < n; ++j) {
      const float* vp = vb + j * x.stride;
#pragma GCC unroll 16
      for (int c = 0; c < ND; ++c) {
        const __m512 vv = _mm512_loadu_ps(vp + 16 * c);
#pragma GCC unroll 16
        for (int r = 0; r < R; ++r)
          out[r][c] = _mm512_fmadd_ps(_mm512_set1_ps(s[static_cast<std::size_t>(r) * ls + b0 + j]),
                                      vv, out[r][c]);
      }
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) {
    const __m512 vinv = _mm512_set1_ps(inv[r]);
#pragma GCC unroll 16
    for (int c = 0; c < ND; ++c)
      _mm512_storeu_ps(o[r] + 16 * c, _mm512_mul_ps(out[r][c], vinv));
  }
}

template <int ND>
__attribute__((target("avx512f"), flatten)) void attend_fixed512(const AttentionArgs& a,
                                                                 const ChunkRows& chunk,
                                                                 int kv_head, int first, int count,
                                                                 std::vector<float>& scratch) {
  constexpr std::size_t d = 16 * ND;
  constexpr int R = 16 / ND;
  const FixedCtx x{&a, &chunk, KeySlot(static_cast<std::size_t>(a.kv->geometry().block_size)),
                   static_cast<std::size_t>(kv_head) * d, a.kv->token_floats()};
  const int group = a.num_heads / a.num_kv_heads;
  const auto max_len = static_cast<std::size_t>(chunk.start_pos + first + count);
  const std::size_t ls = (max_len + 31) / 16 * 16;  // a row's scores, with room for a tile
  scratch.resize(static_cast<std::size_t>(R) * ls);
  float* s = scratch.data();
  const auto q_of = [&](int i, std::size_t head) {
    return a.q + static_cast<std::size_t>(chunk.row0 + i) * a.q_stride + head * d;
  };
  const auto o_of = [&](int i, std::size_t head) {
    return a.out + static_cast<std::size_t>(chunk.row0 + i) * a.out_stride + head * d;
  };
  for (int h = 0; h < group; ++h) {
    const auto head = static_cast<std::size_t>(kv_head * group + h);
    int i = first;
    for (; i + R <= first + count; i += R) {
      const float* q[R];
      float* o[R];
      for (int r = 0; r < R; ++r) {
        q[r] = q_of(i + r, head);
        o[r] = o_of(i + r, head);
      }
      attend_tile512<ND>(x, q, static_cast<std::size_t>(chunk.start_pos + i + 1), s, ls, o);
    }
    for (; i < first + count; ++i)
      attend_row512<ND>(x, q_of(i, head), static_cast<std::size_t>(chunk.start_pos + i + 1), s,
                        o_of(i, head));
  }
}

AGENTRT_AVX512 void attend_avx512(const AttentionArgs& a, const ChunkRows& chunk, int kv_head,
                                  int first, int count, std::vector<float>& scratch) {
  attend_rows<simd::Avx512Ops>(a, chunk, kv_head, first, count, scratch);
}

AGENTRT_AVX2 void attend_avx2(const AttentionArgs& a, const ChunkRows& chunk, int kv_head,
                              int first, int count, std::vector<float>& scratch) {
  attend_rows<simd::Avx2Ops>(a, chunk, kv_head, first, count, scratch);
}

}  // namespace

void attend(const AttentionArgs& a, const ChunkRows& chunk, int kv_head, int first, int count,
            std::vector<float>& scratch) {
  switch (cpu_isa()) {
    case CpuIsa::avx512bf16:
    case CpuIsa::avx512:
      if (a.head_dim == 64) return attend_fixed512<4>(a, chunk, kv_head, first, count, scratch);
      if (a.head_dim == 128) return attend_fixed512<8>(a, chunk, kv_head, first, count, scratch);
      return attend_avx512(a, chunk, kv_head, first, count, scratch);
    case CpuIsa::avx2:
      return attend_avx2(a, chunk, kv_head, first, count, scratch);
    case CpuIsa::scalar:
      break;
  }
  attend_rows<simd::ScalarOps>(a, chunk, kv_head, first, count, scratch);
}

}  // namespace agentrt::cpu
