// Products with bf16 weights and bf16-rounded activations, on AVX512-BF16 (vdpbf16ps), the
// CpuIsa::avx512bf16 path: C[m, n] = A16[m, k] . B[n, k]^T + beta * C with A16 the activations
// rounded to bf16 once per product (round to nearest even, as llama.cpp does), B bf16 bits,
// products of bf16 pairs summed in f32. Every output sums over k in the same order whatever
// m and the column range, so a row's result does not depend on the batch or the split.
#pragma once

#include <cstddef>
#include <cstdint>

namespace agentrt::cpu {

// Largest m that cpu_ops sends to bf16_dot_matmul; more rows take AMX tiles where the CPU has
// them, else the exact path.
inline constexpr std::size_t kBf16DotMaxRows = 8;

// True when the CPU has AVX512-BF16 (the kernels below may run).
bool bf16_dot_supported();

// out[i * ldo + t] = bf16 of a[i * lda + t] (nearest even) for rows [0, m), t in [0, k).
// Requires bf16_dot_supported().
void round_rows_to_bf16(const float* a, std::size_t lda, std::size_t m, std::size_t k,
                        std::uint16_t* out, std::size_t ldo);

// Rows [0, m) and columns [n0, n1) of C from a16 (row stride k) and b (row-major, ldb = k).
// Requires bf16_dot_supported().
void bf16_dot_matmul(const std::uint16_t* a16, const std::uint16_t* b, std::size_t k, float* c,
                     std::size_t ldc, std::size_t m, std::size_t n0, std::size_t n1, float beta);

}  // namespace agentrt::cpu
