// Row-wise building blocks of the CPU forward pass, in f32 as Hugging Face computes them.
#pragma once

#include <cstddef>

#include "engine/cpu/thread_pool.h"

namespace agentrt::cpu {

// out[i] = x[i] / sqrt(mean(x^2) + eps) * w[i] over n floats (out may alias x).
void rms_norm(const float* x, const float* w, std::size_t n, float eps, float* out);

// out[i] = silu(gate[i]) * up[i] over n floats.
void silu_mul(const float* gate, const float* up, std::size_t n, float* out);

// C[m, n] = A[m, k] . B[n, k]^T + beta * C, row-major with row strides lda/ldc (ldb = k),
// split over n across the pool; each slice is one OpenBLAS sgemm.
struct MatmulArgs {
  const float* a = nullptr;
  std::size_t lda = 0;
  const float* b = nullptr;
  float* c = nullptr;
  std::size_t ldc = 0;
  std::size_t m = 0, n = 0, k = 0;
  float beta = 0.0f;
};
void matmul_bt(ThreadPool& pool, const MatmulArgs& args);

}  // namespace agentrt::cpu
