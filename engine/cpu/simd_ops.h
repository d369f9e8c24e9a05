// Vector building blocks of the CPU kernels, once per instruction set (ScalarOps, Avx2Ops,
// Avx512Ops: the same static functions). A kernel is a template over the Ops, instantiated in
// a wrapper that carries the matching target attribute and `flatten`, so the ops inline
// into code compiled for that ISA (see attention.cpp). Include only from kernel .cpp files.
#pragma once

#include <immintrin.h>

#include <cmath>
#include <cstddef>
#include <cstdint>

// GCC 12 reports the deliberately undefined vectors inside the AVX-512 reduce and masked-load
// intrinsics as maybe-uninitialized once they are inlined (a false positive). This holds for
// the rest of each kernel file that includes this header.
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace agentrt::cpu::simd {

// Target strings of the wrappers.
#define AGENTRT_AVX2 __attribute__((target("avx2,fma,f16c"), flatten))
#define AGENTRT_AVX512 \
  __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,f16c"), flatten))

struct ScalarOps {
  static float dot(const float* a, const float* b, std::size_t n) {
    float s = 0.0f;
    for (std::size_t i = 0; i < n; ++i)
      s += a[i] * b[i];
    return s;
  }
  // y += w * x
  static void axpy(float* y, float w, const float* x, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
      y[i] += w * x[i];
  }
  // s[i] = exp(s[i] - mx); returns the sum.
  static float exp_sum(float* s, std::size_t n, float mx) {
    float sum = 0.0f;
    for (std::size_t i = 0; i < n; ++i) {
      s[i] = std::exp(s[i] - mx);
      sum += s[i];
    }
    return sum;
  }
};

// Cephes expf: range reduction by ln 2, degree-6 polynomial; about 1 ulp on [-87, 88].
namespace expc {
inline constexpr float kLog2e = 1.44269504088896341f, kC1 = 0.693359375f, kC2 = -2.12194440e-4f;
inline constexpr float kP0 = 1.9875691500e-4f, kP1 = 1.3981999507e-3f, kP2 = 8.3334519073e-3f,
                       kP3 = 4.1665795894e-2f, kP4 = 1.6666665459e-1f, kP5 = 5.0000001201e-1f;
}  // namespace expc

struct Avx2Ops {
  __attribute__((target("avx2,fma"))) static float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
  }
  __attribute__((target("avx2,fma"))) static float dot(const float* a, const float* b,
                                                       std::size_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
      s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
      s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    }
    for (; i + 8 <= n; i += 8)
      s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    float s = hsum(_mm256_add_ps(s0, s1));
    for (; i < n; ++i)
      s += a[i] * b[i];
    return s;
  }
  __attribute__((target("avx2,fma"))) static void axpy(float* y, float w, const float* x,
                                                       std::size_t n) {
    const __m256 vw = _mm256_set1_ps(w);
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8)
      _mm256_storeu_ps(y + i, _mm256_fmadd_ps(vw, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; ++i)
      y[i] += w * x[i];
  }
  __attribute__((target("avx2,fma"))) static __m256 exp(__m256 x) {
    using namespace expc;
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
    const __m256 fx = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(kLog2e)),
                                      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(kC1), x);
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(kC2), x);
    __m256 y = _mm256_set1_ps(kP0);
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(kP1));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(kP2));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(kP3));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(kP4));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(kP5));
    y = _mm256_fmadd_ps(y, _mm256_mul_ps(x, x), _mm256_add_ps(x, _mm256_set1_ps(1.0f)));
    const __m256i e =
        _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(y, _mm256_castsi256_ps(e));
  }
  __attribute__((target("avx2,fma"))) static float exp_sum(float* s, std::size_t n, float mx) {
    const __m256 vm = _mm256_set1_ps(mx);
    __m256 acc = _mm256_setzero_ps();
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      const __m256 e = exp(_mm256_sub_ps(_mm256_loadu_ps(s + i), vm));
      _mm256_storeu_ps(s + i, e);
      acc = _mm256_add_ps(acc, e);
    }
    float sum = hsum(acc);
    for (; i < n; ++i) {
      s[i] = std::exp(s[i] - mx);
      sum += s[i];
    }
    return sum;
  }
};

struct Avx512Ops {
  __attribute__((target("avx512f"))) static float dot(const float* a, const float* b,
                                                      std::size_t n) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    std::size_t i = 0;
    for (; i + 32 <= n; i += 32) {
      s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
      s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
    }
    if (i < n) {  // up to 31 left: one full vector and a masked one
      if (i + 16 <= n) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        i += 16;
      }
      const auto m = static_cast<__mmask16>((1u << (n - i)) - 1);
      s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
  }
  __attribute__((target("avx512f"))) static void axpy(float* y, float w, const float* x,
                                                      std::size_t n) {
    const __m512 vw = _mm512_set1_ps(w);
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16)
      _mm512_storeu_ps(y + i, _mm512_fmadd_ps(vw, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
    if (i < n) {
      const auto m = static_cast<__mmask16>((1u << (n - i)) - 1);
      _mm512_mask_storeu_ps(
          y + i, m,
          _mm512_fmadd_ps(vw, _mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i)));
    }
  }
  __attribute__((target("avx512f"))) static __m512 exp(__m512 x) {
    using namespace expc;
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.0f)), _mm512_set1_ps(88.0f));
    const __m512 fx = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(kLog2e)),
                                           _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    x = _mm512_fnmadd_ps(fx, _mm512_set1_ps(kC1), x);
    x = _mm512_fnmadd_ps(fx, _mm512_set1_ps(kC2), x);
    __m512 y = _mm512_set1_ps(kP0);
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(kP1));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(kP2));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(kP3));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(kP4));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(kP5));
    y = _mm512_fmadd_ps(y, _mm512_mul_ps(x, x), _mm512_add_ps(x, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(y, fx);
  }
  __attribute__((target("avx512f"))) static float exp_sum(float* s, std::size_t n, float mx) {
    const __m512 vm = _mm512_set1_ps(mx);
    __m512 acc = _mm512_setzero_ps();
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
      const __m512 e = exp(_mm512_sub_ps(_mm512_loadu_ps(s + i), vm));
      _mm512_storeu_ps(s + i, e);
      acc = _mm512_add_ps(acc, e);
    }
    if (i < n) {
      const auto m = static_cast<__mmask16>((1u << (n - i)) - 1);
      const __m512 e =
          _mm512_maskz_mov_ps(m, exp(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, s + i), vm)));
      _mm512_mask_storeu_ps(s + i, m, e);
      acc = _mm512_add_ps(acc, e);
    }
    return _mm512_reduce_add_ps(acc);
  }
};

}  // namespace agentrt::cpu::simd
