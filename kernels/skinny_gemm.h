// Small-M GEMM for decode steps: C[m, n] = A[m, k] . W[n, k]^T + beta * C with bf16 A and W,
// f32 accumulation, for m <= kSkinnyMaxRows. At such m the product is a stream over W (each
// weight is used m times), so a warp per output column reads its row of W with 16-byte
// streaming loads, several in flight, and the m rows of A (small, cached) alongside.
// cuBLASLt's kernels for these shapes read W well below the copy bandwidth
// (bench/RESULTS.md, decode step). Plain C++17: shared by host files and .cu files.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/ops.h"

namespace agentrt::kernels {

constexpr int kSkinnyMaxRows = 8;

// Whether the skinny kernel takes the product: bf16 inputs, 1 <= m <= kSkinnyMaxRows, k and
// lda multiples of 8 and A, W 16-byte aligned.
bool skinny_gemm_fits(Dtype in, int m, int k, int lda, const void* a, const void* w);

// out: f32 or bf16 C [m, ldc]; beta != 0 reads C first. Errors: cudaErrorInvalidValue when
// skinny_gemm_fits() is false.
cudaError_t launch_skinny_gemm(Dtype out, const void* a, int lda, const void* w, void* c, int ldc,
                               int m, int n, int k, float beta, cudaStream_t stream);

}  // namespace agentrt::kernels
