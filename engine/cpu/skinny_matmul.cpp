#include "engine/cpu/skinny_matmul.h"

#include <immintrin.h>

#include <algorithm>

namespace agentrt::cpu {
namespace {

constexpr std::size_t kGroup = 8;  // accumulators per pass: 8 ymm + the B chunk fit 16 regs

void store(float* c, float value, float beta) {
  *c = value + (beta != 0.0f ? beta * *c : 0.0f);
}

void skinny_scalar(const float* a, std::size_t lda, const float* b, std::size_t k, float* c,
                   std::size_t ldc, std::size_t m, std::size_t n0, std::size_t n1, float beta) {
  for (std::size_t j = n0; j < n1; ++j) {
    const float* bj = b + j * k;
    for (std::size_t i = 0; i < m; ++i) {
      const float* ai = a + i * lda;
      float acc = 0.0f;
      for (std::size_t t = 0; t < k; ++t)
        acc += ai[t] * bj[t];
      store(c + i * ldc + j, acc, beta);
    }
  }
}

__attribute__((target("avx2,fma"))) float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

// One row of B against up to kGroup rows of A.
__attribute__((target("avx2,fma"))) void row_group(const float* a, std::size_t lda, const float* bj,
                                                   std::size_t k, float* out, std::size_t rows) {
  __m256 acc[kGroup];
  for (std::size_t i = 0; i < kGroup; ++i)
    acc[i] = _mm256_setzero_ps();
  const std::size_t k8 = k & ~std::size_t{7};
  for (std::size_t t = 0; t < k8; t += 8) {
    const __m256 w = _mm256_loadu_ps(bj + t);
    for (std::size_t i = 0; i < rows; ++i) {
      acc[i] = _mm256_fmadd_ps(_mm256_loadu_ps(a + i * lda + t), w, acc[i]);
    }
  }
  for (std::size_t i = 0; i < rows; ++i) {
    float s = hsum(acc[i]);
    for (std::size_t t = k8; t < k; ++t)
      s += a[i * lda + t] * bj[t];
    out[i] = s;
  }
}

// Two rows of B against up to 6 rows of A: 12 accumulators, 8 loads per 12 FMAs.
__attribute__((target("avx2,fma"))) void pair_group(const float* a, std::size_t lda,
                                                    const float* b0, const float* b1, std::size_t k,
                                                    float* out0, float* out1, std::size_t rows) {
  constexpr std::size_t kPairGroup = 6;
  __m256 acc0[kPairGroup], acc1[kPairGroup];
  for (std::size_t i = 0; i < kPairGroup; ++i)
    acc0[i] = acc1[i] = _mm256_setzero_ps();
  const std::size_t k8 = k & ~std::size_t{7};
  for (std::size_t t = 0; t < k8; t += 8) {
    const __m256 w0 = _mm256_loadu_ps(b0 + t);
    const __m256 w1 = _mm256_loadu_ps(b1 + t);
    for (std::size_t i = 0; i < rows; ++i) {
      const __m256 x = _mm256_loadu_ps(a + i * lda + t);
      acc0[i] = _mm256_fmadd_ps(x, w0, acc0[i]);
      acc1[i] = _mm256_fmadd_ps(x, w1, acc1[i]);
    }
  }
  for (std::size_t i = 0; i < rows; ++i) {
    float s0 = hsum(acc0[i]), s1 = hsum(acc1[i]);
    for (std::size_t t = k8; t < k; ++t) {
      s0 += a[i * lda + t] * b0[t];
      s1 += a[i * lda + t] * b1[t];
    }
    out0[i] = s0;
    out1[i] = s1;
  }
}

__attribute__((target("avx2,fma"))) void skinny_avx2(const float* a, std::size_t lda,
                                                     const float* b, std::size_t k, float* c,
                                                     std::size_t ldc, std::size_t m, std::size_t n0,
                                                     std::size_t n1, float beta) {
  float out[kGroup], out1[kGroup];
  std::size_t j = n0;
  for (; j + 1 < n1; j += 2) {
    for (std::size_t i0 = 0; i0 < m; i0 += 6) {
      const std::size_t rows = std::min<std::size_t>(6, m - i0);
      pair_group(a + i0 * lda, lda, b + j * k, b + (j + 1) * k, k, out, out1, rows);
      for (std::size_t i = 0; i < rows; ++i) {
        store(c + (i0 + i) * ldc + j, out[i], beta);
        store(c + (i0 + i) * ldc + j + 1, out1[i], beta);
      }
    }
  }
  for (; j < n1; ++j) {
    const float* bj = b + j * k;
    for (std::size_t i0 = 0; i0 < m; i0 += kGroup) {
      const std::size_t rows = std::min(kGroup, m - i0);
      row_group(a + i0 * lda, lda, bj, k, out, rows);
      for (std::size_t i = 0; i < rows; ++i)
        store(c + (i0 + i) * ldc + j, out[i], beta);
    }
  }
}

bool has_avx2_fma() {
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
}

}  // namespace

void skinny_matmul(const float* a, std::size_t lda, const float* b, std::size_t k, float* c,
                   std::size_t ldc, std::size_t m, std::size_t n0, std::size_t n1, float beta) {
  if (has_avx2_fma()) {
    skinny_avx2(a, lda, b, k, c, ldc, m, n0, n1, beta);
  } else {
    skinny_scalar(a, lda, b, k, c, ldc, m, n0, n1, beta);
  }
}

}  // namespace agentrt::cpu
