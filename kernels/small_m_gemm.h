// Small-M GEMM on tensor cores for decode batches of 2 to 64 rows: C[m, n] = A[m, k] .
// W[n, k]^T + beta * C with bf16 A and W and f32 accumulation. At such m the product is a
// stream over W (1 byte of A for 128-256 of W), which cuBLASLt read at 1.1-1.6x its bytes
// at m = 32 on the 8B shape (bench/RESULTS.md). Here each block streams 128 rows of W over
// a k range straight into mma.sync fragments, A's k range goes through shared memory, and up
// to 8 blocks of a cluster split k and add their partial products through distributed
// shared memory in a fixed order (deterministic, no workspace). Plain C++17: shared by host
// files and .cu files.
#pragma once

#include <cuda_runtime.h>

#include "kernels/ops.h"

namespace agentrt::kernels {

constexpr int kSmallMMinRows = 2;
constexpr int kSmallMMaxRows = 32;
constexpr int kSmallMChunk = 128;  // k granularity

// Whether the small-M kernels take the product: bf16 inputs, kSmallMMinRows <= m <=
// kSmallMMaxRows, k a multiple of kSmallMChunk, lda a multiple of 8, A and W 16-byte aligned.
bool small_m_gemm_fits(Dtype in, int m, int k, int lda, const void* a, const void* w);

// out: f32 or bf16 C [m, ldc]; beta != 0 reads C first (C may not alias A). splits: how many
// blocks share each tile's k (1, 2, 4 or 8, at most k / kSmallMChunk); 0 chooses. Errors:
// cudaErrorInvalidValue when small_m_gemm_fits() is false, n < 1 or splits is not allowed.
cudaError_t launch_small_m_gemm(Dtype out, const void* a, int lda, const void* w, void* c, int ldc,
                                int m, int n, int k, float beta, cudaStream_t stream,
                                int splits = 0);

// The MLP's gate/up product followed by SwiGLU: out[r, j] = silu(a_r . W[j]) * (a_r .
// W[inter + j]) for j < inter, W the [2 inter, k] gate/up weight, out bf16 [m, inter]. Errors:
// as launch_small_m_gemm().
cudaError_t launch_small_m_swiglu(const void* a, int lda, const void* w_gate_up, void* out, int m,
                                  int inter, int k, cudaStream_t stream, int splits = 0);

}  // namespace agentrt::kernels
