// Products with bf16 weights for the CPU backend: C[m, n] = A[m, k] . B[n, k]^T + beta * C,
// A and C in f32, B as bf16 bits (row-major, ldb = k). Each weight is widened to f32 exactly
// (bf16 is the top half of an f32) and multiplied in f32, so the result equals the f32
// product up to summation order; only the bytes read per weight are halved.
#pragma once

#include <cstddef>
#include <cstdint>

namespace agentrt::cpu {

// Largest m for bf16_skinny_matmul; above it the caller widens panels of B and calls sgemm.
inline constexpr std::size_t kBf16SkinnyMaxRows = 32;

// Rows [0, m) and columns [n0, n1) of C, streaming each row of B once (decode). Any m works;
// vectorized for cpu_isa().
void bf16_skinny_matmul(const float* a, std::size_t lda, const std::uint16_t* b, std::size_t k,
                        float* c, std::size_t ldc, std::size_t m, std::size_t n0, std::size_t n1,
                        float beta);

// out[i] = f32 of b[i] for i in [0, count).
void bf16_to_f32(const std::uint16_t* b, std::size_t count, float* out);

}  // namespace agentrt::cpu
