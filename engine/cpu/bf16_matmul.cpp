#include "engine/cpu/bf16_matmul.h"

#include <algorithm>
#include <cstring>

#include "engine/cpu/cpu_isa.h"
#include "engine/cpu/simd_ops.h"

namespace agentrt::cpu {
namespace {

float widen(std::uint16_t bits) {
  const std::uint32_t u = static_cast<std::uint32_t>(bits) << 16;
  float f;
  std::memcpy(&f, &u, sizeof(f));
  return f;
}

void store(float* c, float value, float beta) {
  *c = value + (beta != 0.0f ? beta * *c : 0.0f);
}

void skinny_scalar(const float* a, std::size_t lda, const std::uint16_t* b, std::size_t k, float* c,
                   std::size_t ldc, std::size_t m, std::size_t n0, std::size_t n1, float beta) {
  for (std::size_t j = n0; j < n1; ++j) {
    const std::uint16_t* bj = b + j * k;
    for (std::size_t i = 0; i < m; ++i) {
      const float* ai = a + i * lda;
      float acc = 0.0f;
      for (std::size_t t = 0; t < k; ++t)
        acc += ai[t] * widen(bj[t]);
      store(c + i * ldc + j, acc, beta);
    }
  }
}

// NB rows of B against MA rows of A: NB * MA accumulators, one widening per weight vector.
// Every loop over x or y is unrolled: at -O2 GCC keeps an array of vectors indexed by a loop
// variable on the stack, and with the accumulators spilled this kernel ran at 1.5-1.9x the
// memory floor (bench/RESULTS.md, CPU round 6). The same holds for the tiles in attention.cpp.
template <int NB, int MA>
__attribute__((target("avx512f,avx512bw,avx512vl"), always_inline)) inline void tile512(
    const float* a, std::size_t lda, const std::uint16_t* b, std::size_t k, float* c,
    std::size_t ldc, std::size_t j, std::size_t rows, float beta,
    const std::uint16_t* next = nullptr) {
  __m512 acc[NB][MA];
#pragma GCC unroll 16
  for (int x = 0; x < NB; ++x)
#pragma GCC unroll 16
    for (int y = 0; y < MA; ++y)
      acc[x][y] = _mm512_setzero_ps();
  for (std::size_t t = 0; t < k; t += 16) {
    const auto mask =
        static_cast<__mmask16>(k - t >= 16 ? 0xffffu : (1u << (k - t)) - 1);  // the tail
    __m512 w[NB];
#pragma GCC unroll 16
    for (int x = 0; x < NB; ++x) {
      const __m256i raw = _mm256_maskz_loadu_epi16(mask, b + (j + x) * k + t);
      w[x] = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(raw), 16));
      if (next != nullptr && (t & 31) == 0)
        _mm_prefetch(reinterpret_cast<const char*>(next + x * k + t), _MM_HINT_T0);
    }
#pragma GCC unroll 16
    for (int y = 0; y < MA; ++y) {
      if (static_cast<std::size_t>(y) >= rows) break;
      const __m512 v = _mm512_maskz_loadu_ps(mask, a + y * lda + t);
#pragma GCC unroll 16
      for (int x = 0; x < NB; ++x)
        acc[x][y] = _mm512_fmadd_ps(v, w[x], acc[x][y]);
    }
  }
#pragma GCC unroll 16
  for (int x = 0; x < NB; ++x)
#pragma GCC unroll 16
    for (int y = 0; y < MA; ++y)
      if (static_cast<std::size_t>(y) < rows)
        store(c + y * ldc + j + x, _mm512_reduce_add_ps(acc[x][y]), beta);
}

template <int NB, int MA>
__attribute__((target("avx2,fma"), always_inline)) inline void tile256(
    const float* a, std::size_t lda, const std::uint16_t* b, std::size_t k, float* c,
    std::size_t ldc, std::size_t j, std::size_t rows, float beta,
    const std::uint16_t* next = nullptr) {
  __m256 acc[NB][MA];
#pragma GCC unroll 16
  for (int x = 0; x < NB; ++x)
#pragma GCC unroll 16
    for (int y = 0; y < MA; ++y)
      acc[x][y] = _mm256_setzero_ps();
  std::size_t t = 0;
  for (; t + 8 <= k; t += 8) {
    __m256 w[NB];
#pragma GCC unroll 16
    for (int x = 0; x < NB; ++x) {
      const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + (j + x) * k + t));
      w[x] = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(raw), 16));
      if (next != nullptr && (t & 31) == 0)
        _mm_prefetch(reinterpret_cast<const char*>(next + x * k + t), _MM_HINT_T0);
    }
#pragma GCC unroll 16
    for (int y = 0; y < MA; ++y) {
      if (static_cast<std::size_t>(y) >= rows) break;
      const __m256 v = _mm256_loadu_ps(a + y * lda + t);
#pragma GCC unroll 16
      for (int x = 0; x < NB; ++x)
        acc[x][y] = _mm256_fmadd_ps(v, w[x], acc[x][y]);
    }
  }
#pragma GCC unroll 16
  for (int x = 0; x < NB; ++x) {
#pragma GCC unroll 16
    for (int y = 0; y < MA; ++y) {
      if (static_cast<std::size_t>(y) >= rows) break;
      float s = simd::Avx2Ops::hsum(acc[x][y]);
      for (std::size_t r = t; r < k; ++r)
        s += a[y * lda + r] * widen(b[(j + x) * k + r]);
      store(c + y * ldc + j + x, s, beta);
    }
  }
}

// One activation row (decode of one sequence): tiles of 8 weight rows (8 rows in flight: about
// 12% more bandwidth than 4 on this 2-core VM); two: 4 x 2. More rows (batched decode,
// best-of-N, small prefill chunks): tiles of NB4 weight rows x 4 activation rows with the
// weight tiles outer, so each weight row comes from memory once and from L1 for the other row
// blocks. Every accumulator sums over k in the same order and is reduced alike, so a row's
// result does not depend on m or on the tile that computed it.
#define AGENTRT_SKINNY_BODY(TILE, NB4)                                                            \
  std::size_t j = n0;                                                                             \
  if (m == 1) {                                                                                   \
    for (; j + 8 <= n1; j += 8)                                                                   \
      TILE<8, 1>(a, lda, b, k, c, ldc, j, 1, beta);                                               \
  } else if (m == 2) {                                                                            \
    for (; j + 4 <= n1; j += 4)                                                                   \
      TILE<4, 2>(a, lda, b, k, c, ldc, j, 2, beta);                                               \
  } else {                                                                                        \
    for (; j + NB4 <= n1; j += NB4)                                                               \
      for (std::size_t i0 = 0; i0 < m; i0 += 4)                                                   \
        TILE<NB4, 4>(a + i0 * lda, lda, b, k, c + i0 * ldc, ldc, j,                               \
                     std::min<std::size_t>(4, m - i0), beta,                                      \
                     i0 == 0 && j + 2 * NB4 <= n1 ? b + (j + NB4) * k : nullptr);                 \
  }                                                                                               \
  for (; j < n1; ++j)                                                                             \
    for (std::size_t i0 = 0; i0 < m; i0 += 8)                                                     \
      TILE<1, 8>(a + i0 * lda, lda, b, k, c + i0 * ldc, ldc, j, std::min<std::size_t>(8, m - i0), \
                 beta);

__attribute__((target("avx512f,avx512bw,avx512vl"))) void skinny_avx512(
    const float* a, std::size_t lda, const std::uint16_t* b, std::size_t k, float* c,
    std::size_t ldc, std::size_t m, std::size_t n0, std::size_t n1, float beta) {
  AGENTRT_SKINNY_BODY(tile512, 4)
}

__attribute__((target("avx2,fma"))) void skinny_avx2(const float* a, std::size_t lda,
                                                     const std::uint16_t* b, std::size_t k,
                                                     float* c, std::size_t ldc, std::size_t m,
                                                     std::size_t n0, std::size_t n1, float beta) {
  AGENTRT_SKINNY_BODY(tile256, 2)
}

#undef AGENTRT_SKINNY_BODY

__attribute__((target("avx512f,avx512bw"))) void widen_avx512(const std::uint16_t* b,
                                                              std::size_t count, float* out) {
  std::size_t i = 0;
  for (; i + 16 <= count; i += 16) {
    const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + i));
    _mm512_storeu_si512(out + i, _mm512_slli_epi32(_mm512_cvtepu16_epi32(raw), 16));
  }
  for (; i < count; ++i)
    out[i] = widen(b[i]);
}

}  // namespace

void bf16_skinny_matmul(const float* a, std::size_t lda, const std::uint16_t* b, std::size_t k,
                        float* c, std::size_t ldc, std::size_t m, std::size_t n0, std::size_t n1,
                        float beta) {
  if (n0 >= n1 || m == 0) return;
  switch (cpu_isa()) {
    case CpuIsa::avx512bf16:
    case CpuIsa::avx512:
      return skinny_avx512(a, lda, b, k, c, ldc, m, n0, n1, beta);
    case CpuIsa::avx2:
      return skinny_avx2(a, lda, b, k, c, ldc, m, n0, n1, beta);
    case CpuIsa::scalar:
      break;
  }
  skinny_scalar(a, lda, b, k, c, ldc, m, n0, n1, beta);
}

void bf16_to_f32(const std::uint16_t* b, std::size_t count, float* out) {
  if (cpu_isa() >= CpuIsa::avx512) return widen_avx512(b, count, out);
  for (std::size_t i = 0; i < count; ++i)
    out[i] = widen(b[i]);
}

}  // namespace agentrt::cpu
