// Skinny matmul for the smallest decode batches: C[m, n] = A[m, k] . B[n, k]^T + beta * C.
// It streams each row of B once and forms all m dot products while that row sits in L1.
#pragma once

#include <cstddef>

namespace agentrt::cpu {

// Largest m for which it beats OpenBLAS sgemm: one thread, n=4864, k=896 (a Qwen2.5-0.5B
// MLP) measured 3.5 vs 4.3 ms at m=2, 3.9 vs 3.7 ms at m=4, 5.3 vs 3.4 ms at m=8.
inline constexpr std::size_t kSkinnyMaxRows = 3;

// Computes rows [0, m) and columns [n0, n1) of C. Any m works; AVX2+FMA when the CPU has it.
void skinny_matmul(const float* a, std::size_t lda, const float* b, std::size_t k, float* c,
                   std::size_t ldc, std::size_t m, std::size_t n0, std::size_t n1, float beta);

}  // namespace agentrt::cpu
