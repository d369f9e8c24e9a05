// Row-wise building blocks of the CPU forward pass, in f32 as Hugging Face computes them.
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/cpu/cpu_weights.h"
#include "engine/cpu/thread_pool.h"

namespace agentrt::cpu {

// out[i] = x[i] / sqrt(mean(x^2) + eps) * w[i] over n floats (out may alias x).
void rms_norm(const float* x, const float* w, std::size_t n, float eps, float* out);

// out[i] = silu(gate[i]) * up[i] over n floats.
void silu_mul(const float* gate, const float* up, std::size_t n, float* out);

// C[m, n] = A[m, k] . B[n, k]^T + beta * C, row-major with row strides lda/ldc (ldb = k),
// split over n across the pool. B is f32 (b) or bf16 bits (b16; exactly one is set). Each
// slice is a GEMV or skinny kernel for a few rows of A, else OpenBLAS sgemm (over panels of
// B widened to f32 when B is bf16).
struct MatmulArgs {
  const float* a = nullptr;
  std::size_t lda = 0;
  const float* b = nullptr;
  const std::uint16_t* b16 = nullptr;
  float* c = nullptr;
  std::size_t ldc = 0;
  std::size_t m = 0, n = 0, k = 0;
  float beta = 0.0f;
};
void matmul_bt(ThreadPool& pool, const MatmulArgs& args);
// The same with B = w (f32 or bf16).
void matmul_bt(ThreadPool& pool, MatmulArgs args, const WeightMatrix& w);

}  // namespace agentrt::cpu
