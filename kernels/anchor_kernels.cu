#include <cuda_bf16.h>

#include <cfloat>
#include <climits>
#include <cmath>

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

// One warp per (token, layer), kWarps tokens of one layer a block. Each lane keeps the K
// nearest of the anchor tokens r = lane, lane + 32, ... sorted in registers (K >= k, a
// compile-time size so that the lists stay in registers); then k rounds of a warp-wide
// minimum over the lanes' heads pick the k nearest, in order; their mean offset goes into the
// pool.
constexpr int kWarps = kThreads / 32;

template <class T, int K>
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
  for (int r = lane; r < p.m; r += 32) {
    const float d = fmaxf(0.0f, drow[r] * -2.0f + x + yn[r]) + prow[r];
    if (!before(d, r, best_d[K - 1], best_j[K - 1])) continue;
    best_d[K - 1] = d;
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
  const float* offsets = p.offsets + j * p.offsets_layer;
  const int heads = kv.kv.num_kv_heads, hd = kv.kv.head_dim, half = hd / 2;
  const int pos = kv.begin + token, layer = p.first_layer + static_cast<int>(j);
  const auto block = static_cast<std::size_t>(kv.table[pos / kv.kv.block_size]);
  auto row = [&](int part, int h) {  // the pool row of K (0) or V (1) of head h
    return static_cast<T*>(kv.kv.pool) +
           ((((block * kv.kv.num_layers + layer) * 2 + part) * heads + h) * kv.kv.block_size +
            static_cast<std::size_t>(pos % kv.kv.block_size)) *
               hd;
  };
  const int* rows = chosen[warp];
  auto mean = [&](int e) {
    float v = 0.0f;
    for (int q = 0; q < k; ++q)
      v += w * offsets[static_cast<std::size_t>(rows[q]) * (2 * heads * hd) + e];
    return v;
  };
  for (int t = lane; t < heads * half; t += 32) {  // K: rotate_half pairs
    const int h = t / half, e = t % half;
    float x0 = mean(h * hd + e), x1 = mean(h * hd + e + half);
    const float angle = static_cast<float>(pos) * p.inv_freq[e];
    const float c = cosf(angle), sn = sinf(angle);
    const float a = x0;
    x0 = a * c - x1 * sn;
    x1 = x1 * c + a * sn;
    T* dst = row(0, h);
    dst[e] = from_f32<T>(to_f32(dst[e]) + x0);
    dst[e + half] = from_f32<T>(to_f32(dst[e + half]) + x1);
  }
  for (int t = lane; t < heads * hd; t += 32) {  // V
    T* dst = row(1, t / hd) + t % hd;
    *dst = from_f32<T>(to_f32(*dst) + mean(heads * hd + t));
  }
}

template <class T>
void launch_nearest(const NearestMeanParams& p, const TokenKvParams& kv, cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>((p.n + kWarps - 1) / kWarps),
                  static_cast<unsigned>(p.layers));
  if (p.k <= 8)
    nearest_mean_add_kernel<T, 8><<<grid, kThreads, 0, stream>>>(p, kv);
  else if (p.k <= 16)
    nearest_mean_add_kernel<T, 16><<<grid, kThreads, 0, stream>>>(p, kv);
  else
    nearest_mean_add_kernel<T, kMaxAnchorNeighbours><<<grid, kThreads, 0, stream>>>(p, kv);
}

__global__ void append_rows_kernel(const float* src, int layers, int dim, float* dst, float* norms,
                                   int cap, int row0) {
  const int i = blockIdx.x / layers, l = blockIdx.x % layers;
  const float* s = src + static_cast<std::size_t>(blockIdx.x) * dim;
  const std::size_t row = static_cast<std::size_t>(l) * cap + row0 + i;
  float* d = dst + row * dim;
  float v = 0.0f;
  for (int e = threadIdx.x; e < dim; e += kThreads) {
    d[e] = s[e];
    v += s[e] * s[e];
  }
  v = block_sum(v);
  if (threadIdx.x == 0) norms[row] = v;
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

cudaError_t launch_append_anchor_rows(const float* src, int n, int layers, int dim, float* dst,
                                      float* norms, int cap, int row0, cudaStream_t stream) {
  if (n <= 0 || layers <= 0) return cudaSuccess;
  append_rows_kernel<<<n * layers, kThreads, 0, stream>>>(src, layers, dim, dst, norms, cap, row0);
  return cudaGetLastError();
}

}  // namespace agentrt::kernels
