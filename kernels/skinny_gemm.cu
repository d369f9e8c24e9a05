// Skinny GEMM: a warp per output column, W streamed once with 16-byte loads.
#include <cuda_bf16.h>

#include "kernels/device_math.cuh"
#include "kernels/skinny_gemm.h"

namespace agentrt::kernels {
namespace {

using bf16 = __nv_bfloat16;
constexpr int kUnroll = 4;  // 16-byte W loads in flight per lane

// The rows of A the kernels read: bf16 rows as given (kWarps columns a block), or one f32 row
// normalized on the fly (RMSNorm with weight g, rounded to bf16 as launch_add_rmsnorm()
// writes it). For the latter each block first finds the row's rms and writes the normalized
// row into shared memory (prepare()), so its blocks are made wide (W warps) where there are
// columns enough to keep every SM busy: fewer blocks then read x.
struct Bf16Rows {
  static constexpr int kWarps = 8;
  const bf16* a;
  int lda;
  __device__ void prepare(int, float) {}
};
constexpr int kNormMaxK = 8192;
template <int W>
struct NormedRow {
  static constexpr int kWarps = W;
  const float* x;
  const float* g;
  const bf16* h;  // the normalized row, in shared memory once prepared
  __device__ void prepare(int k, float eps) {
    __shared__ __align__(16) bf16 row[kNormMaxK];
    const int t = static_cast<int>(threadIdx.x), threads = static_cast<int>(blockDim.x);
    float sq = 0.0f;
    for (int j = t * 4; j < k; j += threads * 4) {
      const float4 v = *reinterpret_cast<const float4*>(x + j);
      sq += v.x * v.x + v.y * v.y + v.z * v.z + v.w * v.w;
    }
    const float rs = rsqrtf(block_sum(sq) / static_cast<float>(k) + eps);
    for (int j = t * 8; j < k; j += threads * 8) {
      const auto* xv = reinterpret_cast<const float4*>(x + j);
      const auto* gv = reinterpret_cast<const float4*>(g + j);
      const float4 x0 = xv[0], x1 = xv[1], g0 = gv[0], g1 = gv[1];
      const float xs[8] = {x0.x, x0.y, x0.z, x0.w, x1.x, x1.y, x1.z, x1.w};
      const float gs[8] = {g0.x, g0.y, g0.z, g0.w, g1.x, g1.y, g1.z, g1.w};
#pragma unroll
      for (int e = 0; e < 8; ++e)
        row[j + e] = __float2bfloat16_rn(gs[e] * (xs[e] * rs));
    }
    __syncthreads();
    h = row;
  }
};

template <int M>
__device__ __forceinline__ void accumulate(const Bf16Rows& a, int i, const uint4& wv,
                                           float (&acc)[M]) {
  float w[8];
  unpack_bf16x8(wv, w);
#pragma unroll
  for (int r = 0; r < M; ++r) {
    float x[8];
    unpack_bf16x8(
        __ldg(reinterpret_cast<const uint4*>(a.a + static_cast<std::size_t>(r) * a.lda + i)), x);
#pragma unroll
    for (int e = 0; e < 8; ++e)
      acc[r] = fmaf(x[e], w[e], acc[r]);
  }
}

template <int W>
__device__ __forceinline__ void accumulate(const NormedRow<W>& a, int i, const uint4& wv,
                                           float (&acc)[1]) {
  float w[8], x[8];
  unpack_bf16x8(wv, w);
  unpack_bf16x8(*reinterpret_cast<const uint4*>(a.h + i), x);
#pragma unroll
  for (int e = 0; e < 8; ++e)
    acc[0] = fmaf(x[e], w[e], acc[0]);
}

template <int M, class OutT, class A>
__global__ void __launch_bounds__(A::kWarps * 32)
    skinny_kernel(A a, const bf16* __restrict__ w, OutT* c, int ldc, int n, int k, float beta,
                  float eps) {
  const int col = blockIdx.x * A::kWarps + threadIdx.x / 32, lane = threadIdx.x % 32;
  // A warp past the last column streams the last one again (the block stays whole for
  // prepare()) and stores nothing.
  const bf16* row = w + static_cast<std::size_t>(min(col, n - 1)) * k;
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
  a.prepare(k, eps);
  for (; i + (kUnroll - 1) * kStep < k; i += kUnroll * kStep) {
    if (!loaded) {
#pragma unroll
      for (int u = 0; u < kUnroll; ++u)
        wv[u] = __ldcs(reinterpret_cast<const uint4*>(row + i + u * kStep));
    }
    loaded = false;
#pragma unroll
    for (int u = 0; u < kUnroll; ++u)
      accumulate(a, i + u * kStep, wv[u], acc);
  }
  for (; i < k; i += kStep)
    accumulate(a, i, __ldcs(reinterpret_cast<const uint4*>(row + i)), acc);
  pdl_trigger();  // W is read: the next kernel may start launching
#pragma unroll
  for (int r = 0; r < M; ++r) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1)
      acc[r] += __shfl_xor_sync(0xffffffffu, acc[r], o);
  }
  if (lane < M && col < n) {
    // Lane r writes row r (a select, so acc stays in registers).
    float v = acc[0];
#pragma unroll
    for (int r = 1; r < M; ++r)
      if (lane == r) v = acc[r];
    OutT* out = c + static_cast<std::size_t>(lane) * ldc + col;
    if (beta != 0.0f) v += beta * to_f32(*out);
    *out = from_f32<OutT>(v);
  }
}

// Batch-1 gate/up projection with SwiGLU: a warp per output column j streams W's rows j
// (gate) and inter + j (up) and writes silu(gate) * up as bf16, so the f32 products are not
// rounded to bf16 before the activation, and no separate SwiGLU kernel runs.
template <class A>
__global__ void __launch_bounds__(A::kWarps * 32)
    skinny_swiglu_kernel(A a, const bf16* __restrict__ w, bf16* out, int inter, int k, float eps) {
  const int col = blockIdx.x * A::kWarps + threadIdx.x / 32, lane = threadIdx.x % 32;
  const int live = min(col, inter - 1);  // a warp past the end streams the last column again
  const bf16* rows[2] = {w + static_cast<std::size_t>(live) * k,
                         w + (static_cast<std::size_t>(inter) + live) * k};
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
  a.prepare(k, eps);
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
        accumulate(a, i + u * kStep, wv[g][u], acc[g]);
  }
  for (; i < k; i += kStep) {
#pragma unroll
    for (int g = 0; g < 2; ++g)
      accumulate(a, i, __ldcs(reinterpret_cast<const uint4*>(rows[g] + i)), acc[g]);
  }
  pdl_trigger();
#pragma unroll
  for (int g = 0; g < 2; ++g) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1)
      acc[g][0] += __shfl_xor_sync(0xffffffffu, acc[g][0], o);
  }
  if (lane == 0 && col < inter) {
    const float gate = acc[0][0], up = acc[1][0];
    out[col] = __float2bfloat16_rn(gate / (1.0f + expf(-gate)) * up);
  }
}

template <int M, class A>
cudaError_t launch_m(Dtype out, A a, const void* w, void* c, int ldc, int n, int k, float beta,
                     float eps, cudaStream_t stream) {
  const dim3 grid((n + A::kWarps - 1) / A::kWarps);
  const auto* W = static_cast<const bf16*>(w);
  if (out == Dtype::f32) {
    return launch_pdl(skinny_kernel<M, float, A>, grid, dim3(A::kWarps * 32), 0, stream, a, W,
                      static_cast<float*>(c), ldc, n, k, beta, eps);
  }
  return launch_pdl(skinny_kernel<M, bf16, A>, grid, dim3(A::kWarps * 32), 0, stream, a, W,
                    static_cast<bf16*>(c), ldc, n, k, beta, eps);
}

bool aligned16(const void* p) {
  return reinterpret_cast<std::uintptr_t>(p) % 16 == 0;
}

// Wide (32-warp) blocks for a normalized row when they still number at least an H100's or
// H200's 132 SMs and each warp streams long rows (Llama-3.1-8B's k = 4096: 3.7% off the
// batch-1 step on an H100); at Qwen2.5-0.5B's k = 896 they were slower than 8-warp blocks.
bool wide_norm_blocks(int n, int k) {
  return n >= 32 * 132 && k >= 2048;
}

}  // namespace

bool skinny_gemm_fits(Dtype in, int m, int k, int lda, const void* a, const void* w) {
  return in == Dtype::bf16 && m >= 1 && m <= kSkinnyMaxRows && k > 0 && k % 8 == 0 &&
         lda % 8 == 0 && aligned16(a) && aligned16(w);
}

bool skinny_norm_fits(int k, const float* x, const float* g, const void* w) {
  return k > 0 && k % 8 == 0 && k <= kNormMaxK && aligned16(x) && aligned16(g) && aligned16(w);
}

cudaError_t launch_skinny_gemm(Dtype out, const void* a, int lda, const void* w, void* c, int ldc,
                               int m, int n, int k, float beta, cudaStream_t stream) {
  if (!skinny_gemm_fits(Dtype::bf16, m, k, lda, a, w) || n <= 0) return cudaErrorInvalidValue;
  static_assert(kSkinnyMaxRows == 1, "instantiate launch_m for every m up to kSkinnyMaxRows");
  return launch_m<kSkinnyMaxRows>(out, Bf16Rows{static_cast<const bf16*>(a), lda}, w, c, ldc, n, k,
                                  beta, 0.0f, stream);
}

cudaError_t launch_skinny_norm_gemm(const float* x, const float* g, float eps, const void* w,
                                    float* c, float beta, int n, int k, cudaStream_t stream) {
  if (!skinny_norm_fits(k, x, g, w) || n <= 0) return cudaErrorInvalidValue;
  if (wide_norm_blocks(n, k))
    return launch_m<1>(Dtype::f32, NormedRow<32>{x, g, nullptr}, w, c, n, n, k, beta, eps, stream);
  return launch_m<1>(Dtype::f32, NormedRow<8>{x, g, nullptr}, w, c, n, n, k, beta, eps, stream);
}

cudaError_t launch_skinny_swiglu(const void* a, const void* w_gate_up, void* out, int inter, int k,
                                 cudaStream_t stream) {
  if (!skinny_gemm_fits(Dtype::bf16, 1, k, k, a, w_gate_up) || inter <= 0)
    return cudaErrorInvalidValue;
  const dim3 grid((inter + Bf16Rows::kWarps - 1) / Bf16Rows::kWarps);
  return launch_pdl(skinny_swiglu_kernel<Bf16Rows>, grid, dim3(Bf16Rows::kWarps * 32), 0, stream,
                    Bf16Rows{static_cast<const bf16*>(a), k}, static_cast<const bf16*>(w_gate_up),
                    static_cast<bf16*>(out), inter, k, 0.0f);
}

cudaError_t launch_skinny_norm_swiglu(const float* x, const float* g, float eps,
                                      const void* w_gate_up, void* out, int inter, int k,
                                      cudaStream_t stream) {
  if (!skinny_norm_fits(k, x, g, w_gate_up) || inter <= 0) return cudaErrorInvalidValue;
  const auto launch = [&](auto a) {
    constexpr int kW = decltype(a)::kWarps;
    return launch_pdl(skinny_swiglu_kernel<decltype(a)>, dim3((inter + kW - 1) / kW), dim3(kW * 32),
                      0, stream, a, static_cast<const bf16*>(w_gate_up), static_cast<bf16*>(out),
                      inter, k, eps);
  };
  if (wide_norm_blocks(inter, k)) return launch(NormedRow<32>{x, g, nullptr});
  return launch(NormedRow<8>{x, g, nullptr});
}

}  // namespace agentrt::kernels
