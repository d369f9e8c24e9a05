#include "engine/cpu/bf16_dot_matmul.h"

#include <immintrin.h>

#include <algorithm>

// GCC 12 reports the undefined vectors inside the masked-load intrinsics as
// maybe-uninitialized once inlined (a false positive, as in simd_ops.h).
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#define AGENTRT_BF16DOT __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512bf16")))

namespace agentrt::cpu {
namespace {

// Weight rows per L2 panel in a prefill product: about 1 MB of B, reused by every row of A.
constexpr std::size_t kBf16PanelBytes = 1024 * 1024;

// r[i] = sum of the 16 lanes of v[i]. Every lane is summed by the same tree whatever i is, so
// an output does not depend on its slot in the tile.
AGENTRT_BF16DOT inline __m512 reduce16(const __m512* v) {
  __m512 a[8], b[4];
#pragma GCC unroll 16
  for (int i = 0; i < 8; ++i)  // per 128-bit lane: [x0+x2, y0+y2, x1+x3, y1+y3]
    a[i] = _mm512_add_ps(_mm512_unpacklo_ps(v[2 * i], v[2 * i + 1]),
                         _mm512_unpackhi_ps(v[2 * i], v[2 * i + 1]));
#pragma GCC unroll 16
  for (int i = 0; i < 4; ++i) {  // per lane: one partial sum of each of 4 vectors
    const __m512d lo =
        _mm512_unpacklo_pd(_mm512_castps_pd(a[2 * i]), _mm512_castps_pd(a[2 * i + 1]));
    const __m512d hi =
        _mm512_unpackhi_pd(_mm512_castps_pd(a[2 * i]), _mm512_castps_pd(a[2 * i + 1]));
    b[i] = _mm512_add_ps(_mm512_castpd_ps(lo), _mm512_castpd_ps(hi));
  }
  const __m512 d0 =
      _mm512_add_ps(_mm512_shuffle_f32x4(b[0], b[1], 0x44), _mm512_shuffle_f32x4(b[0], b[1], 0xEE));
  const __m512 d1 =
      _mm512_add_ps(_mm512_shuffle_f32x4(b[2], b[3], 0x44), _mm512_shuffle_f32x4(b[2], b[3], 0xEE));
  return _mm512_add_ps(_mm512_shuffle_f32x4(d0, d1, 0x88), _mm512_shuffle_f32x4(d0, d1, 0xDD));
}

// MA rows of A against NB rows of B (MA * NB = 16 accumulators): lane y * NB + x of the
// result is row a[y] . row b[x]. k tail by masked loads (zeros add nothing).
template <int MA, int NB>
AGENTRT_BF16DOT __attribute__((always_inline)) inline __m512 tile(const std::uint16_t* const* a,
                                                                  const std::uint16_t* const* b,
                                                                  std::size_t k) {
  static_assert(MA * NB == 16);
  __m512 acc[16];
#pragma GCC unroll 16
  for (auto& v : acc)
    v = _mm512_setzero_ps();
  for (std::size_t t = 0; t < k; t += 32) {
    const auto mask = static_cast<__mmask32>(k - t >= 32 ? ~0u : (1u << (k - t)) - 1);
    __m512i w[NB];
#pragma GCC unroll 16
    for (int x = 0; x < NB; ++x)
      w[x] = _mm512_maskz_loadu_epi16(mask, b[x] + t);
#pragma GCC unroll 16
    for (int y = 0; y < MA; ++y) {
      const __m512i v = _mm512_maskz_loadu_epi16(mask, a[y] + t);
#pragma GCC unroll 16
      for (int x = 0; x < NB; ++x)
        acc[y * NB + x] = _mm512_dpbf16_ps(acc[y * NB + x], (__m512bh)v, (__m512bh)w[x]);
    }
  }
  return reduce16(acc);
}

// Writes lanes [y * NB, y * NB + cols) of r to c_row[0, cols) for each of `rows` rows.
template <int NB>
AGENTRT_BF16DOT inline void store_tile(__m512 r, float* c, std::size_t ldc, std::size_t rows,
                                       std::size_t cols, float beta) {
  const auto mask = static_cast<__mmask16>((1u << cols) - 1);
  const __m512i lane = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
  for (std::size_t y = 0; y < rows; ++y) {
    __m512 v = r;
    if (y != 0) {
      const __m512i idx = _mm512_add_epi32(lane, _mm512_set1_epi32(static_cast<int>(y) * NB));
      v = _mm512_permutexvar_ps(_mm512_and_si512(idx, _mm512_set1_epi32(15)), r);
    }
    float* out = c + y * ldc;
    if (beta != 0.0f)
      v = _mm512_fmadd_ps(_mm512_set1_ps(beta), _mm512_maskz_loadu_ps(mask, out), v);
    _mm512_mask_storeu_ps(out, mask, v);
  }
}

// Rows [i0, i0 + rows) of C over columns [j0, j1), NB columns at a time.
template <int MA, int NB>
AGENTRT_BF16DOT void row_block(const std::uint16_t* a16, const std::uint16_t* b, std::size_t k,
                               float* c, std::size_t ldc, std::size_t i0, std::size_t rows,
                               std::size_t j0, std::size_t j1, float beta) {
  const std::uint16_t* ap[MA];
  for (int y = 0; y < MA; ++y)  // rows past the end repeat the last (results dropped)
    ap[y] = a16 + (i0 + std::min<std::size_t>(static_cast<std::size_t>(y), rows - 1)) * k;
  for (std::size_t j = j0; j < j1; j += NB) {
    const std::size_t cols = std::min<std::size_t>(NB, j1 - j);
    const std::uint16_t* bp[NB];
    for (int x = 0; x < NB; ++x)
      bp[x] = b + (j + std::min<std::size_t>(static_cast<std::size_t>(x), cols - 1)) * k;
    store_tile<NB>(tile<MA, NB>(ap, bp, k), c + i0 * ldc + j, ldc, rows, cols, beta);
  }
}

}  // namespace

bool bf16_dot_supported() {
  static const bool ok = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512bf16");
  }();
  return ok;
}

AGENTRT_BF16DOT void round_rows_to_bf16(const float* a, std::size_t lda, std::size_t m,
                                        std::size_t k, std::uint16_t* out, std::size_t ldo) {
  for (std::size_t i = 0; i < m; ++i) {
    const float* src = a + i * lda;
    std::uint16_t* dst = out + i * ldo;
    for (std::size_t t = 0; t < k; t += 16) {
      const auto mask = static_cast<__mmask16>(k - t >= 16 ? 0xffffu : (1u << (k - t)) - 1);
      const __m256bh v = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(mask, src + t));
      _mm256_mask_storeu_epi16(dst + t, mask, (__m256i)v);
    }
  }
}

AGENTRT_BF16DOT void bf16_dot_matmul(const std::uint16_t* a16, const std::uint16_t* b,
                                     std::size_t k, float* c, std::size_t ldc, std::size_t m,
                                     std::size_t n0, std::size_t n1, float beta) {
  if (m == 0 || n0 >= n1) return;
  const std::size_t panel =
      std::max<std::size_t>(16, kBf16PanelBytes / (2 * std::max<std::size_t>(k, 1)));
  for (std::size_t j0 = n0; j0 < n1; j0 += panel) {
    const std::size_t j1 = std::min(n1, j0 + panel);
    for (std::size_t i0 = 0; i0 < m; i0 += 4) {
      const std::size_t rows = std::min<std::size_t>(4, m - i0);
      if (rows == 1)
        row_block<1, 16>(a16, b, k, c, ldc, i0, rows, j0, j1, beta);
      else if (rows == 2)
        row_block<2, 8>(a16, b, k, c, ldc, i0, rows, j0, j1, beta);
      else
        row_block<4, 4>(a16, b, k, c, ldc, i0, rows, j0, j1, beta);
    }
  }
}

}  // namespace agentrt::cpu
