#include "engine/cpu/cpu_ops.h"

#include "engine/cpu/amx_matmul.h"
#include "engine/cpu/bf16_dot_matmul.h"
#include "engine/cpu/bf16_matmul.h"
#include "engine/cpu/cpu_isa.h"
#include "engine/cpu/simd_ops.h"
#include "engine/cpu/skinny_matmul.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace agentrt::cpu {

namespace {

void rms_norm_scalar(const float* x, const float* w, std::size_t n, float eps, float* out) {
  // Double accumulation stays closest to torch's pairwise f32 mean.
  double sum = 0.0;
  for (std::size_t i = 0; i < n; ++i)
    sum += static_cast<double>(x[i]) * x[i];
  const auto variance = static_cast<float>(sum / static_cast<double>(n));
  const float r = 1.0f / std::sqrt(variance + eps);
  for (std::size_t i = 0; i < n; ++i)
    out[i] = w[i] * (x[i] * r);
}

// The same sums in double, 8 lanes at a time.
AGENTRT_AVX512 void rms_norm_avx512(const float* x, const float* w, std::size_t n, float eps,
                                    float* out) {
  __m512d acc = _mm512_setzero_pd();
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m512d v = _mm512_cvtps_pd(_mm256_loadu_ps(x + i));
    acc = _mm512_fmadd_pd(v, v, acc);
  }
  alignas(64) double lanes[8];
  _mm512_store_pd(lanes, acc);
  double sum = ((lanes[0] + lanes[4]) + (lanes[2] + lanes[6])) +
               ((lanes[1] + lanes[5]) + (lanes[3] + lanes[7]));
  for (; i < n; ++i)
    sum += static_cast<double>(x[i]) * x[i];
  const auto variance = static_cast<float>(sum / static_cast<double>(n));
  const __m512 r = _mm512_set1_ps(1.0f / std::sqrt(variance + eps));
  for (i = 0; i < n; i += 16) {
    const auto m = static_cast<__mmask16>(n - i >= 16 ? 0xffffu : (1u << (n - i)) - 1);
    const __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), r);
    _mm512_mask_storeu_ps(out + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, w + i), v));
  }
}

void silu_mul_scalar(const float* gate, const float* up, std::size_t n, float* out) {
  for (std::size_t i = 0; i < n; ++i) {
    const float g = gate[i];
    out[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

// silu with the vector exp of simd_ops.h (about 1 ulp), 16 lanes at a time.
AGENTRT_AVX512 void silu_mul_avx512(const float* gate, const float* up, std::size_t n, float* out) {
  const __m512 one = _mm512_set1_ps(1.0f);
  for (std::size_t i = 0; i < n; i += 16) {
    const auto m = static_cast<__mmask16>(n - i >= 16 ? 0xffffu : (1u << (n - i)) - 1);
    const __m512 g = _mm512_maskz_loadu_ps(m, gate + i);
    const __m512 e = simd::Avx512Ops::exp(_mm512_sub_ps(_mm512_setzero_ps(), g));
    const __m512 silu = _mm512_div_ps(g, _mm512_add_ps(one, e));
    _mm512_mask_storeu_ps(out + i, m, _mm512_mul_ps(silu, _mm512_maskz_loadu_ps(m, up + i)));
  }
}

}  // namespace

void rms_norm(const float* x, const float* w, std::size_t n, float eps, float* out) {
  if (cpu_isa() >= CpuIsa::avx512) return rms_norm_avx512(x, w, n, eps, out);
  rms_norm_scalar(x, w, n, eps, out);
}

void silu_mul(const float* gate, const float* up, std::size_t n, float* out) {
  if (cpu_isa() >= CpuIsa::avx512) return silu_mul_avx512(gate, up, n, out);
  silu_mul_scalar(gate, up, n, out);
}

namespace {

// Columns [n0, n1) of C with B in bf16: the skinny kernel for a few rows of A, else sgemm
// over panels of B widened into a per-thread buffer that stays in L2.
void bf16_slice(const MatmulArgs& a, std::size_t n0, std::size_t n1) {
  if (a.m <= kBf16SkinnyMaxRows) {
    bf16_skinny_matmul(a.a, a.lda, a.b16, a.k, a.c, a.ldc, a.m, n0, n1, a.beta);
    return;
  }
  constexpr std::size_t kPanelFloats = 1024 * 1024;  // 4 MB
  const std::size_t panel = std::max<std::size_t>(16, kPanelFloats / std::max<std::size_t>(a.k, 1));
  thread_local std::vector<float> buf;
  buf.resize(std::min(panel, n1 - n0) * a.k);
  for (std::size_t j = n0; j < n1; j += panel) {
    const std::size_t cols = std::min(panel, n1 - j);
    bf16_to_f32(a.b16 + j * a.k, cols * a.k, buf.data());
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(a.m),
                static_cast<int>(cols), static_cast<int>(a.k), 1.0f, a.a, static_cast<int>(a.lda),
                buf.data(), static_cast<int>(a.k), a.beta, a.c + j, static_cast<int>(a.ldc));
  }
}

}  // namespace

void matmul_bt(ThreadPool& pool, MatmulArgs args, const WeightMatrix& w) {
  args.b = w.is_bf16() ? nullptr : w.f32.data();
  args.b16 = w.is_bf16() ? w.bf16.data() : nullptr;
  matmul_bt(pool, args);
}

namespace {

// The avx512bf16 path: A rounded to bf16 once (on the caller for a few rows, spread over the
// pool for prefill), then vdpbf16ps (a few rows) or AMX tiles (more) over column slices.
void bf16_rounded_product(ThreadPool& pool, const MatmulArgs& a, bool amx) {
  thread_local std::vector<std::uint16_t> a16;  // the step thread's; grows once, then reused
  const std::size_t lda = amx ? amx_lda(a.k) : a.k;
  const std::size_t rows = amx ? amx_rows(a.m) : a.m;
  a16.resize(rows * lda);
  std::uint16_t* a16_data = a16.data();
  constexpr std::size_t kRowsPerItem = 32;
  const auto round_rows = [&](std::size_t i0, std::size_t count) {
    round_rows_to_bf16(a.a + i0 * a.lda, a.lda, count, a.k, a16_data + i0 * lda, lda);
    for (std::size_t i = i0; i < i0 + count && lda > a.k; ++i)  // AMX reads k up to lda
      std::fill(a16_data + i * lda + a.k, a16_data + (i + 1) * lda, std::uint16_t{0});
  };
  if (a.m <= kRowsPerItem) {
    round_rows(0, a.m);
  } else {
    pool.parallel_for((a.m + kRowsPerItem - 1) / kRowsPerItem, [&](std::size_t p) {
      const std::size_t i0 = p * kRowsPerItem;
      round_rows(i0, std::min(kRowsPerItem, a.m - i0));
    });
  }
  std::fill(a16_data + a.m * lda, a16_data + rows * lda, std::uint16_t{0});
  // Slices of 32-column blocks, four per thread for a few rows (a descheduled thread's share
  // is taken over), one per thread for prefill (each repacks its own panel of B).
  const std::size_t blocks = (a.n + 31) / 32;
  const std::size_t per_thread = amx ? 1 : 4;
  const std::size_t parts = std::max<std::size_t>(
      1, std::min<std::size_t>(per_thread * static_cast<std::size_t>(pool.size()), blocks));
  const std::size_t step = (blocks + parts - 1) / parts * 32;
  pool.parallel_for(parts, [&](std::size_t p) {
    const std::size_t n0 = p * step;
    const std::size_t n1 = std::min(a.n, n0 + step);
    if (n0 >= n1) return;
    if (amx)
      amx_matmul(a16_data, a.b16, a.k, a.c, a.ldc, a.m, n0, n1, a.beta);
    else
      bf16_dot_matmul(a16_data, a.b16, a.k, a.c, a.ldc, a.m, n0, n1, a.beta);
  });
}

}  // namespace

void matmul_bt(ThreadPool& pool, const MatmulArgs& a) {
  if (a.m == 0 || a.n == 0) return;
  // vdpbf16ps runs at half the f32 FMA rate, so it serves the weight-streaming products
  // (decode: no widening, a quarter of the instructions per weight); AMX serves prefill.
  if (a.b16 != nullptr && cpu_isa() == CpuIsa::avx512bf16 && bf16_dot_supported()) {
    if (a.m <= kBf16DotMaxRows) return bf16_rounded_product(pool, a, false);
    if (amx_supported()) return bf16_rounded_product(pool, a, true);
  }
  // Slices of at least 64 output columns keep each sgemm call efficient. Skinny products
  // (decode) take four slices per thread, so when the shared machine deschedules a thread
  // the others take over its unclaimed slices.
  const bool skinny = a.m <= (a.b16 != nullptr ? kBf16SkinnyMaxRows : kSkinnyMaxRows);
  const std::size_t per_thread = skinny ? 4 : 1;
  const std::size_t parts = std::max<std::size_t>(
      1, std::min<std::size_t>(per_thread * static_cast<std::size_t>(pool.size()), a.n / 64));
  const std::size_t step = (a.n + parts - 1) / parts;
  pool.parallel_for(parts, [&](std::size_t p) {
    const std::size_t n0 = p * step;
    const std::size_t n1 = std::min(a.n, n0 + step);
    if (n0 >= n1) return;
    if (a.b16 != nullptr) return bf16_slice(a, n0, n1);
    if (a.m == 1) {  // decode: a GEMV streams the weights once
      cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<int>(n1 - n0), static_cast<int>(a.k),
                  1.0f, a.b + n0 * a.k, static_cast<int>(a.k), a.a, 1, a.beta, a.c + n0, 1);
      return;
    }
    if (a.m <= kSkinnyMaxRows) {  // two or three rows: one pass over the weights
      skinny_matmul(a.a, a.lda, a.b, a.k, a.c, a.ldc, a.m, n0, n1, a.beta);
      return;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(a.m),
                static_cast<int>(n1 - n0), static_cast<int>(a.k), 1.0f, a.a,
                static_cast<int>(a.lda), a.b + n0 * a.k, static_cast<int>(a.k), a.beta, a.c + n0,
                static_cast<int>(a.ldc));
  });
}

}  // namespace agentrt::cpu
