// Skinny matmul for decode-sized batches: C[m, n] = A[m, k] . B[n, k]^T + beta * C for small m.
// OpenBLAS sgemm packs B on every call, which for a handful of rows reads and writes the
// weights several times over; this kernel streams each row of B once and forms all m dot
// products against A while that row sits in L1. Decode is bound by that one read.
#pragma once

#include <cstddef>

namespace agentrt::cpu {

// Largest m for which skinny_matmul beats sgemm (measured in bench/cpu_engine_bench).
inline constexpr std::size_t kSkinnyMaxRows = 16;

// Computes rows [0, m) and columns [n0, n1) of C. Any m works; AVX2+FMA when the CPU has it.
void skinny_matmul(const float* a, std::size_t lda, const float* b, std::size_t k, float* c,
                   std::size_t ldc, std::size_t m, std::size_t n0, std::size_t n1, float beta);

}  // namespace agentrt::cpu
