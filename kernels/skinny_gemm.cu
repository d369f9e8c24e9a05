// Skinny GEMM: a warp per output column, W streamed once with 16-byte loads.
#include <cuda_bf16.h>

#include "kernels/device_math.cuh"
#include "kernels/skinny_gemm.h"

namespace agentrt::kernels {
namespace {

using bf16 = __nv_bfloat16;
constexpr int kWarps = 8;
constexpr int kUnroll = 4;  // 16-byte W loads in flight per lane

template <int M>
__device__ __forceinline__ void accumulate(const bf16* a, int lda, int i, const uint4& wv,
                                           float (&acc)[M]) {
  float w[8];
  unpack_bf16x8(wv, w);
#pragma unroll
  for (int r = 0; r < M; ++r) {
    float x[8];
    unpack_bf16x8(__ldg(reinterpret_cast<const uint4*>(a + static_cast<std::size_t>(r) * lda + i)),
                  x);
#pragma unroll
    for (int e = 0; e < 8; ++e)
      acc[r] = fmaf(x[e], w[e], acc[r]);
  }
}

template <class T>
__device__ __forceinline__ float load_out(const T* p) {
  if constexpr (sizeof(T) == 4) {
    return *p;
  } else {
    return __bfloat162float(*p);
  }
}
template <class T>
__device__ __forceinline__ void store_out(T* p, float v) {
  if constexpr (sizeof(T) == 4) {
    *p = v;
  } else {
    *p = __float2bfloat16_rn(v);
  }
}

template <int M, class OutT>
__global__ void __launch_bounds__(kWarps * 32)
    skinny_kernel(const bf16* __restrict__ a, int lda, const bf16* __restrict__ w, OutT* c, int ldc,
                  int n, int k, float beta) {
  const int col = blockIdx.x * kWarps + threadIdx.x / 32, lane = threadIdx.x % 32;
  if (col >= n) return;
  const bf16* row = w + static_cast<std::size_t>(col) * k;
  float acc[M];
#pragma unroll
  for (int r = 0; r < M; ++r)
    acc[r] = 0.0f;
  constexpr int kStep = 32 * 8;  // elements per warp-wide pass
  int i = lane * 8;
  // W does not depend on the kernel before (launched with PDL): the first group of loads
  // goes out before waiting for that kernel's A and C.
  uint4 wv[kUnroll];
  bool loaded = i + (kUnroll - 1) * kStep < k;
  if (loaded) {
#pragma unroll
    for (int u = 0; u < kUnroll; ++u)
      wv[u] = __ldcs(reinterpret_cast<const uint4*>(row + i + u * kStep));
  }
  pdl_wait();
  for (; i + (kUnroll - 1) * kStep < k; i += kUnroll * kStep) {
    if (!loaded) {
#pragma unroll
      for (int u = 0; u < kUnroll; ++u)
        wv[u] = __ldcs(reinterpret_cast<const uint4*>(row + i + u * kStep));
    }
    loaded = false;
#pragma unroll
    for (int u = 0; u < kUnroll; ++u)
      accumulate<M>(a, lda, i + u * kStep, wv[u], acc);
  }
  for (; i < k; i += kStep)
    accumulate<M>(a, lda, i, __ldcs(reinterpret_cast<const uint4*>(row + i)), acc);
  pdl_trigger();  // W is read: the next kernel may start launching
#pragma unroll
  for (int r = 0; r < M; ++r) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1)
      acc[r] += __shfl_xor_sync(0xffffffffu, acc[r], o);
  }
  if (lane < M) {
    // Lane r writes row r (a select, so acc stays in registers).
    float v = acc[0];
#pragma unroll
    for (int r = 1; r < M; ++r)
      if (lane == r) v = acc[r];
    OutT* out = c + static_cast<std::size_t>(lane) * ldc + col;
    if (beta != 0.0f) v += beta * load_out(out);
    store_out(out, v);
  }
}

// Batch-1 gate/up projection with SwiGLU: a warp per output column j streams W's rows j
// (gate) and inter + j (up) and writes silu(gate) * up as bf16, so the f32 products are not
// rounded to bf16 before the activation, and no separate SwiGLU kernel runs.
__global__ void __launch_bounds__(kWarps * 32)
    skinny_swiglu_kernel(const bf16* __restrict__ a, const bf16* __restrict__ w, bf16* out,
                         int inter, int k) {
  const int col = blockIdx.x * kWarps + threadIdx.x / 32, lane = threadIdx.x % 32;
  if (col >= inter) return;
  const bf16* rows[2] = {w + static_cast<std::size_t>(col) * k,
                         w + (static_cast<std::size_t>(inter) + col) * k};
  float acc[2][1] = {{0.0f}, {0.0f}};
  constexpr int kStep = 32 * 8;
  constexpr int kHalf = kUnroll / 2;  // loads in flight per row: as many bytes as skinny_kernel
  int i = lane * 8;
  uint4 wv[2][kHalf];
  bool loaded = i + (kHalf - 1) * kStep < k;
  if (loaded) {
#pragma unroll
    for (int g = 0; g < 2; ++g)
#pragma unroll
      for (int u = 0; u < kHalf; ++u)
        wv[g][u] = __ldcs(reinterpret_cast<const uint4*>(rows[g] + i + u * kStep));
  }
  pdl_wait();
  for (; i + (kHalf - 1) * kStep < k; i += kHalf * kStep) {
    if (!loaded) {
#pragma unroll
      for (int g = 0; g < 2; ++g)
#pragma unroll
        for (int u = 0; u < kHalf; ++u)
          wv[g][u] = __ldcs(reinterpret_cast<const uint4*>(rows[g] + i + u * kStep));
    }
    loaded = false;
#pragma unroll
    for (int g = 0; g < 2; ++g)
#pragma unroll
      for (int u = 0; u < kHalf; ++u)
        accumulate<1>(a, 0, i + u * kStep, wv[g][u], acc[g]);
  }
  for (; i < k; i += kStep) {
#pragma unroll
    for (int g = 0; g < 2; ++g)
      accumulate<1>(a, 0, i, __ldcs(reinterpret_cast<const uint4*>(rows[g] + i)), acc[g]);
  }
  pdl_trigger();
#pragma unroll
  for (int g = 0; g < 2; ++g) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1)
      acc[g][0] += __shfl_xor_sync(0xffffffffu, acc[g][0], o);
  }
  if (lane == 0) {
    const float gate = acc[0][0], up = acc[1][0];
    out[col] = __float2bfloat16_rn(gate / (1.0f + expf(-gate)) * up);
  }
}

template <int M>
cudaError_t launch_m(Dtype out, const void* a, int lda, const void* w, void* c, int ldc, int n,
                     int k, float beta, cudaStream_t stream) {
  const dim3 grid((n + kWarps - 1) / kWarps);
  const auto* A = static_cast<const bf16*>(a);
  const auto* W = static_cast<const bf16*>(w);
  if (out == Dtype::f32) {
    return launch_pdl(skinny_kernel<M, float>, grid, dim3(kWarps * 32), 0, stream, A, lda, W,
                      static_cast<float*>(c), ldc, n, k, beta);
  }
  return launch_pdl(skinny_kernel<M, bf16>, grid, dim3(kWarps * 32), 0, stream, A, lda, W,
                    static_cast<bf16*>(c), ldc, n, k, beta);
}

}  // namespace

bool skinny_gemm_fits(Dtype in, int m, int k, int lda, const void* a, const void* w) {
  const auto aligned = [](const void* p) { return reinterpret_cast<std::uintptr_t>(p) % 16 == 0; };
  return in == Dtype::bf16 && m >= 1 && m <= kSkinnyMaxRows && k > 0 && k % 8 == 0 &&
         lda % 8 == 0 && aligned(a) && aligned(w);
}

cudaError_t launch_skinny_gemm(Dtype out, const void* a, int lda, const void* w, void* c, int ldc,
                               int m, int n, int k, float beta, cudaStream_t stream) {
  if (!skinny_gemm_fits(Dtype::bf16, m, k, lda, a, w) || n <= 0) return cudaErrorInvalidValue;
  static_assert(kSkinnyMaxRows == 1, "instantiate launch_m for every m up to kSkinnyMaxRows");
  return launch_m<kSkinnyMaxRows>(out, a, lda, w, c, ldc, n, k, beta, stream);
}

cudaError_t launch_skinny_swiglu(const void* a, const void* w_gate_up, void* out, int inter, int k,
                                 cudaStream_t stream) {
  if (!skinny_gemm_fits(Dtype::bf16, 1, k, k, a, w_gate_up) || inter <= 0)
    return cudaErrorInvalidValue;
  const dim3 grid((inter + kWarps - 1) / kWarps);
  return launch_pdl(skinny_swiglu_kernel, grid, dim3(kWarps * 32), 0, stream,
                    static_cast<const bf16*>(a), static_cast<const bf16*>(w_gate_up),
                    static_cast<bf16*>(out), inter, k);
}

}  // namespace agentrt::kernels
