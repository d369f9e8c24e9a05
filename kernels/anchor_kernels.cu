#include <cuda_bf16.h>

#include <cfloat>
#include <climits>
#include <cmath>
#include <type_traits>

#include "kernels/anchor_kernels.h"
#include "kernels/device_math.cuh"

namespace agentrt::kernels {
namespace {

constexpr int kThreads = 256;

__global__ void row_norms_kernel(const float* x, int dim, std::size_t ld, float* out,
                                 std::size_t x_layer, std::size_t out_layer) {
  const float* row = x + blockIdx.y * x_layer + blockIdx.x * ld;
  float v = 0.0f;
  for (int e = threadIdx.x; e < dim; e += kThreads)
    v += row[e] * row[e];
  v = block_sum(v);
  if (threadIdx.x == 0) out[blockIdx.y * out_layer + blockIdx.x] = v;
}

__global__ void probe_distances_kernel(float* dot, int m, int ld, const float* xn, const float* yn,
                                       float* row_min) {
  __shared__ float shared[kThreads / 32];
  float* row = dot + static_cast<std::size_t>(blockIdx.x) * ld;
  const float x = xn[blockIdx.x];
  float best = FLT_MAX;
  for (int j = threadIdx.x; j < m; j += kThreads) {
    const float d = fmaxf(0.0f, row[j] * -2.0f + x + yn[j]);
    row[j] = d;
    best = fminf(best, d);
  }
  for (int o = 16; o > 0; o /= 2)
    best = fminf(best, __shfl_xor_sync(0xffffffffu, best, o));
  if (threadIdx.x % 32 == 0) shared[threadIdx.x / 32] = best;
  __syncthreads();
  if (threadIdx.x == 0) {
    float t = shared[0];
    for (int w = 1; w < kThreads / 32; ++w)
      t = fminf(t, shared[w]);
    row_min[blockIdx.x] = t;
  }
}

// (distance, index) ordered by distance, then index.
__device__ __forceinline__ bool before(float d0, int j0, float d1, int j1) {
  return d0 < d1 || (d0 == d1 && j0 < j1);
}

// W consecutive elements of a row as floats, and back (rounded once): W = 8 as 16- or 32-byte
// vector accesses (the address a multiple of 8 elements), else one element at a time.
template <int W, class X>
__device__ __forceinline__ void load_row(const X* p, float (&out)[W]) {
  if constexpr (W == 8 && std::is_same_v<X, __nv_bfloat16>) {
    unpack_bf16x8(*reinterpret_cast<const uint4*>(p), out);
  } else if constexpr (W == 8) {
    const float4 a = reinterpret_cast<const float4*>(p)[0],
                 b = reinterpret_cast<const float4*>(p)[1];
    out[0] = a.x, out[1] = a.y, out[2] = a.z, out[3] = a.w;
    out[4] = b.x, out[5] = b.y, out[6] = b.z, out[7] = b.w;
  } else {
#pragma unroll
    for (int i = 0; i < W; ++i)
      out[i] = to_f32(p[i]);
  }
}

template <int W, class X>
__device__ __forceinline__ void store_row(X* p, const float (&v)[W]) {
  if constexpr (W == 8 && std::is_same_v<X, __nv_bfloat16>) {
    uint4 u;
    auto* h = reinterpret_cast<__nv_bfloat162*>(&u);
#pragma unroll
    for (int i = 0; i < 4; ++i)
      h[i] = __floats2bfloat162_rn(v[2 * i], v[2 * i + 1]);
    *reinterpret_cast<uint4*>(p) = u;
  } else if constexpr (W == 8) {
    reinterpret_cast<float4*>(p)[0] = make_float4(v[0], v[1], v[2], v[3]);
    reinterpret_cast<float4*>(p)[1] = make_float4(v[4], v[5], v[6], v[7]);
  } else {
#pragma unroll
    for (int i = 0; i < W; ++i)
      p[i] = from_f32<X>(v[i]);
  }
}

// One warp per (token, layer), kWarps tokens of one layer a block. Each lane keeps the K
// nearest of the anchor tokens r = lane, lane + 32, ... sorted in registers (K >= k, a
// compile-time size so that the lists stay in registers); then k rounds of a warp-wide
// minimum over the lanes' heads pick the k nearest, in order; their mean offset goes into the
// pool, W elements a lane at a time.
constexpr int kWarps = kThreads / 32;

template <class T, class O, int K, int W>
__global__ void nearest_mean_add_kernel(NearestMeanParams p, TokenKvParams kv) {
  __shared__ int chosen[kWarps][kMaxAnchorNeighbours];
  const int warp = static_cast<int>(threadIdx.x) / 32, lane = static_cast<int>(threadIdx.x) % 32;
  const int token = static_cast<int>(blockIdx.x) * kWarps + warp;
  if (token >= p.n) return;  // the whole warp
  const std::size_t i = static_cast<std::size_t>(token), j = blockIdx.y;
  const float* drow = p.dot + j * p.dot_layer + i * p.ld;
  const float* prow = p.probe + i * p.ld;
  const float* yn = p.yn + j * p.yn_layer;
  const float x = p.xn[j * p.xn_layer + i];
  float best_d[K];
  int best_j[K];
#pragma unroll
  for (int q = 0; q < K; ++q)
    best_d[q] = INFINITY, best_j[q] = INT_MAX;
  // Four candidates a lane at a time, their loads issued together.
  for (int r0 = lane; r0 < p.m; r0 += 4 * 32) {
    float cand[4];
#pragma unroll
    for (int u = 0; u < 4; ++u) {
      const int r = r0 + 32 * u;
      cand[u] = r < p.m ? fmaxf(0.0f, drow[r] * -2.0f + x + yn[r]) + prow[r] : INFINITY;
    }
#pragma unroll
    for (int u = 0; u < 4; ++u) {
      const int r = r0 + 32 * u;
      if (r >= p.m || !before(cand[u], r, best_d[K - 1], best_j[K - 1])) continue;
      best_d[K - 1] = cand[u];
      best_j[K - 1] = r;
#pragma unroll
      for (int q = K - 1; q > 0; --q) {
        if (before(best_d[q], best_j[q], best_d[q - 1], best_j[q - 1])) {
          const float td = best_d[q];
          const int tj = best_j[q];
          best_d[q] = best_d[q - 1], best_j[q] = best_j[q - 1];
          best_d[q - 1] = td, best_j[q - 1] = tj;
        }
      }
    }
  }
  const int k = p.k;
  for (int round = 0; round < k; ++round) {
    float d = best_d[0];
    int r = best_j[0];
    for (int o = 16; o > 0; o /= 2) {
      const float od = __shfl_xor_sync(0xffffffffu, d, o);
      const int oj = __shfl_xor_sync(0xffffffffu, r, o);
      if (before(od, oj, d, r)) d = od, r = oj;
    }
    // Every lane holds the same minimum; its r was scanned by one lane, which drops its head.
    if (best_j[0] == r) {
#pragma unroll
      for (int q = 0; q + 1 < K; ++q)
        best_d[q] = best_d[q + 1], best_j[q] = best_j[q + 1];
      best_d[K - 1] = INFINITY, best_j[K - 1] = INT_MAX;
    }
    if (lane == 0) chosen[warp][round] = r < p.m ? r : 0;  // k <= m: always a real row
  }
  __syncwarp();
  // The mean offset, added at position kv.begin + i of layer first_layer + j.
  const float w = 1.0f / static_cast<float>(k);
  const O* offsets = static_cast<const O*>(p.offsets) + j * p.offsets_layer;
  const int heads = kv.kv.num_kv_heads, hd = kv.kv.head_dim, half = hd / 2;
  const int pos = kv.begin + token, layer = p.first_layer + static_cast<int>(j);
  const auto block = static_cast<std::size_t>(kv.table[pos / kv.kv.block_size]);
  // Head h's K row in the pool is k_row + h * head_stride, its V row v_row + h * head_stride.
  const auto bs = static_cast<std::size_t>(kv.kv.block_size);
  const std::size_t head_stride = bs * static_cast<std::size_t>(hd);
  const std::size_t part = (block * kv.kv.num_layers + layer) * 2;  // K's; V's is part + 1
  T* k_row = static_cast<T*>(kv.kv.pool) +
             (part * heads * bs + static_cast<std::size_t>(pos % kv.kv.block_size)) * hd;
  T* v_row = k_row + heads * head_stride;
  const int* rows = chosen[warp];
  const std::size_t stride = static_cast<std::size_t>(2 * heads * hd);
  // The mean of the chosen rows' elements [e, e + W), the k loads issued together.
  auto mean = [&](int e, float(&v)[W]) {
#pragma unroll
    for (int u = 0; u < W; ++u)
      v[u] = 0.0f;
#pragma unroll
    for (int q = 0; q < K; ++q) {
      if (q >= k) break;
      float y[W];
      load_row<W>(offsets + static_cast<std::size_t>(rows[q]) * stride + e, y);
#pragma unroll
      for (int u = 0; u < W; ++u)
        v[u] += w * y[u];
    }
  };
  const int kc = half / W, vc = hd / W;          // chunks of W a head: K's pairs, V
  for (int c = lane; c < heads * kc; c += 32) {  // K: rotate_half pairs (e, e + half)
    const int h = c / kc, e = (c % kc) * W;
    float x0[W], x1[W], d0[W], d1[W];
    mean(h * hd + e, x0);
    mean(h * hd + e + half, x1);
    T* dst = k_row + h * head_stride;
    load_row<W>(dst + e, d0);
    load_row<W>(dst + e + half, d1);
#pragma unroll
    for (int u = 0; u < W; ++u) {
      float sn, cs;
      sincosf(static_cast<float>(pos) * p.inv_freq[e + u], &sn, &cs);
      d0[u] += x0[u] * cs - x1[u] * sn;
      d1[u] += x1[u] * cs + x0[u] * sn;
    }
    store_row<W>(dst + e, d0);
    store_row<W>(dst + e + half, d1);
  }
  for (int c = lane; c < heads * vc; c += 32) {  // V
    const int h = c / vc, e = (c % vc) * W;
    float m[W], d[W];
    mean((heads + h) * hd + e, m);
    T* dst = v_row + h * head_stride + e;
    load_row<W>(dst, d);
#pragma unroll
    for (int u = 0; u < W; ++u)
      d[u] += m[u];
    store_row<W>(dst, d);
  }
}

template <class T, class O, int W>
void launch_nearest(const NearestMeanParams& p, const TokenKvParams& kv, cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>((p.n + kWarps - 1) / kWarps),
                  static_cast<unsigned>(p.layers));
  if (p.k <= 8)
    nearest_mean_add_kernel<T, O, 8, W><<<grid, kThreads, 0, stream>>>(p, kv);
  else if (p.k <= 16)
    nearest_mean_add_kernel<T, O, 16, W><<<grid, kThreads, 0, stream>>>(p, kv);
  else
    nearest_mean_add_kernel<T, O, kMaxAnchorNeighbours, W><<<grid, kThreads, 0, stream>>>(p, kv);
}

// Vectors of 8 when a head's half is a multiple of 8.
template <class T, class O>
void launch_nearest(const NearestMeanParams& p, const TokenKvParams& kv, cudaStream_t stream) {
  if (kv.kv.head_dim % 16 == 0)
    launch_nearest<T, O, 8>(p, kv, stream);
  else
    launch_nearest<T, O, 1>(p, kv, stream);
}

template <class T>
void launch_nearest(const NearestMeanParams& p, const TokenKvParams& kv, cudaStream_t stream) {
  if (p.offsets_dtype == Dtype::f32)
    launch_nearest<T, float>(p, kv, stream);
  else
    launch_nearest<T, __nv_bfloat16>(p, kv, stream);
}

// One block per (token, layer).
template <class D>
__global__ void append_rows_kernel(AnchorRows r) {
  const int i = static_cast<int>(blockIdx.x) / r.layers,
            l = static_cast<int>(blockIdx.x) % r.layers;
  const float* s = r.src + (static_cast<std::size_t>(i) * r.src_layers + r.first + l) * r.dim;
  const std::size_t row = static_cast<std::size_t>(l) * r.cap + r.row0 + i;
  D* d = static_cast<D*>(r.dst) + row * r.dim;
  float v = 0.0f;
  for (int e = threadIdx.x; e < r.dim; e += kThreads) {
    d[e] = from_f32<D>(s[e]);
    const float stored = to_f32(d[e]);
    v += stored * stored;
  }
  v = block_sum(v);
  if (threadIdx.x == 0 && r.norms != nullptr) r.norms[row] = v;
}

}  // namespace

cudaError_t launch_row_norms(const float* x, int rows, int dim, std::size_t ld, float* out,
                             cudaStream_t stream, int layers, std::size_t x_layer,
                             std::size_t out_layer) {
  if (rows <= 0 || layers <= 0) return cudaSuccess;
  const dim3 grid(static_cast<unsigned>(rows), static_cast<unsigned>(layers));
  row_norms_kernel<<<grid, kThreads, 0, stream>>>(x, dim, ld, out, x_layer, out_layer);
  return cudaGetLastError();
}

cudaError_t launch_probe_distances(float* dot, int n, int m, int ld, const float* xn,
                                   const float* yn, float* row_min, cudaStream_t stream) {
  if (n <= 0) return cudaSuccess;
  if (m <= 0 || ld < m) return cudaErrorInvalidValue;
  probe_distances_kernel<<<n, kThreads, 0, stream>>>(dot, m, ld, xn, yn, row_min);
  return cudaGetLastError();
}

cudaError_t launch_nearest_mean_add(Dtype dt, const NearestMeanParams& p, const TokenKvParams& kv,
                                    cudaStream_t stream) {
  if (p.n <= 0 || p.layers <= 0) return cudaSuccess;
  if (p.k < 1 || p.k > p.m || p.k > kMaxAnchorNeighbours || p.ld < p.m || kv.kv.head_dim % 2 ||
      p.first_layer < 0 || p.first_layer + p.layers > kv.kv.num_layers || p.n > kv.count)
    return cudaErrorInvalidValue;
  if (dt == Dtype::f32)
    launch_nearest<float>(p, kv, stream);
  else
    launch_nearest<__nv_bfloat16>(p, kv, stream);
  return cudaGetLastError();
}

cudaError_t launch_append_anchor_rows(const AnchorRows& r, cudaStream_t stream) {
  if (r.n <= 0 || r.layers <= 0) return cudaSuccess;
  if (r.first < 0 || r.first + r.layers > r.src_layers) return cudaErrorInvalidValue;
  const unsigned blocks = static_cast<unsigned>(r.n * r.layers);
  if (r.dtype == Dtype::f32)
    append_rows_kernel<float><<<blocks, kThreads, 0, stream>>>(r);
  else
    append_rows_kernel<__nv_bfloat16><<<blocks, kThreads, 0, stream>>>(r);
  return cudaGetLastError();
}

}  // namespace agentrt::kernels
