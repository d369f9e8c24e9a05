#include "engine/cpu/cpu_ops.h"

#include "engine/cpu/skinny_matmul.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>

namespace agentrt::cpu {

void rms_norm(const float* x, const float* w, std::size_t n, float eps, float* out) {
  // Double accumulation stays closest to torch's pairwise f32 mean.
  double sum = 0.0;
  for (std::size_t i = 0; i < n; ++i)
    sum += static_cast<double>(x[i]) * x[i];
  const auto variance = static_cast<float>(sum / static_cast<double>(n));
  const float r = 1.0f / std::sqrt(variance + eps);
  for (std::size_t i = 0; i < n; ++i)
    out[i] = w[i] * (x[i] * r);
}

void silu_mul(const float* gate, const float* up, std::size_t n, float* out) {
  for (std::size_t i = 0; i < n; ++i) {
    const float g = gate[i];
    out[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

void matmul_bt(ThreadPool& pool, const MatmulArgs& a) {
  if (a.m == 0 || a.n == 0) return;
  // Slices of at least 64 output columns keep each sgemm call efficient.
  const std::size_t parts = std::max<std::size_t>(1, std::min<std::size_t>(pool.size(), a.n / 64));
  const std::size_t step = (a.n + parts - 1) / parts;
  pool.parallel_for(parts, [&](std::size_t p) {
    const std::size_t n0 = p * step;
    const std::size_t n1 = std::min(a.n, n0 + step);
    if (n0 >= n1) return;
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
