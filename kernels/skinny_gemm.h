// Skinny GEMM for batch-1 decode steps: C[m, n] = A[m, k] . W[n, k]^T + beta * C with bf16
// A and W, f32 accumulation, for m <= kSkinnyMaxRows. At such m the product is a stream over
// W, so a warp per output column reads its row of W with 16-byte streaming loads, several in
// flight, and the row(s) of A (small, cached) alongside. Measured on the H200 (bench/
// RESULTS.md): at m = 1 it beats cuBLASLt by 3-6% on the decode step; at m = 4 and 8 it was
// 0.59-0.90x of cuBLASLt (every lane re-reads m rows of A from L1 for each 16 bytes of W), so
// larger m stays on cuBLASLt. Plain C++17: shared by host files and .cu files.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/ops.h"

namespace agentrt::kernels {

constexpr int kSkinnyMaxRows = 1;

// Whether the skinny kernel takes the product: bf16 inputs, 1 <= m <= kSkinnyMaxRows, k and
// lda multiples of 8 and A, W 16-byte aligned.
bool skinny_gemm_fits(Dtype in, int m, int k, int lda, const void* a, const void* w);

// out: f32 or bf16 C [m, ldc]; beta != 0 reads C first. Errors: cudaErrorInvalidValue when
// skinny_gemm_fits() is false.
cudaError_t launch_skinny_gemm(Dtype out, const void* a, int lda, const void* w, void* c, int ldc,
                               int m, int n, int k, float beta, cudaStream_t stream);

// One row (m = 1) of the MLP's gate/up product followed by SwiGLU: out[j] = silu(a . W[j]) *
// (a . W[inter + j]) for j < inter, W the [2 inter, k] gate/up weight, out bf16. Errors:
// cudaErrorInvalidValue when skinny_gemm_fits(bf16, 1, k, k, a, w_gate_up) is false.
cudaError_t launch_skinny_swiglu(const void* a, const void* w_gate_up, void* out, int inter, int k,
                                 cudaStream_t stream);

// The batch-1 decode layer without its add_rmsnorm kernels: the products below read the f32
// residual row x and normalize it on the fly (RMSNorm with weight g and eps, each element
// rounded to bf16 exactly as launch_add_rmsnorm() writes it), each block finding the row's
// rms itself. The residual add itself goes into the GEMM before (beta = 1 on x).
// Whether they take x, g, W: k a multiple of 8 up to 8,192, all three 16-byte aligned.
bool skinny_norm_fits(int k, const float* x, const float* g, const void* w);

// c[0, n] (f32) = norm(x) . W^T + beta * c. Errors: cudaErrorInvalidValue when
// skinny_norm_fits() is false or n < 1.
cudaError_t launch_skinny_norm_gemm(const float* x, const float* g, float eps, const void* w,
                                    float* c, float beta, int n, int k, cudaStream_t stream);

// launch_skinny_swiglu() of norm(x). Errors: as launch_skinny_norm_gemm().
cudaError_t launch_skinny_norm_swiglu(const float* x, const float* g, float eps,
                                      const void* w_gate_up, void* out, int inter, int k,
                                      cudaStream_t stream);

}  // namespace agentrt::kernels
