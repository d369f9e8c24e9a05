// Prefill products on AMX-BF16 tiles (Sapphire Rapids and later), the CpuIsa::avx512bf16
// path for more than a few rows: C[m, n] = A16[m, k] . B[n, k]^T + beta * C with A16 the
// activations rounded to bf16 (bf16_dot_matmul.h), B bf16 weight bits, sums in f32. Panels
// of B are repacked per call into the tiles' pair-interleaved layout, in a per-thread buffer.
#pragma once

#include <cstddef>
#include <cstdint>

namespace agentrt::cpu {

// True when the CPU has AMX-BF16 and the kernel granted this process the tile state
// (arch_prctl ARCH_REQ_XCOMP_PERM, asked once). Thread-safe.
bool amx_supported();

// The layout amx_matmul reads A16 in: rows padded to a multiple of 32 and k to a multiple
// of 32 (row stride amx_lda(k)), the padding zero.
std::size_t amx_lda(std::size_t k);
std::size_t amx_rows(std::size_t m);

// Rows [0, m) and columns [n0, n1) of C, a16 in the layout above. Requires amx_supported().
// Any thread may call; each call configures and releases the calling thread's tiles.
void amx_matmul(const std::uint16_t* a16, const std::uint16_t* b, std::size_t k, float* c,
                std::size_t ldc, std::size_t m, std::size_t n0, std::size_t n1, float beta);

}  // namespace agentrt::cpu
