#include <cuda_bf16.h>

#include <cfloat>

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

// One block per (token, layer): each thread keeps its k nearest of the r it scans (sorted),
// then k rounds of a block-wide minimum over the threads' heads pick the k nearest; their
// mean offset goes into the pool.
template <class T>
__global__ void nearest_mean_add_kernel(NearestMeanParams p, TokenKvParams kv) {
  __shared__ float red_d[kThreads / 32];
  __shared__ int red_j[kThreads / 32];
  __shared__ int chosen[kMaxAnchorNeighbours];
  const std::size_t i = blockIdx.x, j = blockIdx.y;
  const float* drow = p.dot + j * p.dot_layer + i * p.ld;
  const float* prow = p.probe + i * p.ld;
  const float* yn = p.yn + j * p.yn_layer;
  const float x = p.xn[j * p.xn_layer + i];
  const int k = p.k;
  float best_d[kMaxAnchorNeighbours];
  int best_j[kMaxAnchorNeighbours];
  int kept = 0;
  for (int r = threadIdx.x; r < p.m; r += kThreads) {
    const float d = fmaxf(0.0f, drow[r] * -2.0f + x + yn[r]) + prow[r];
    if (kept == k && !before(d, r, best_d[k - 1], best_j[k - 1])) continue;
    int at = kept < k ? kept++ : k - 1;
    while (at > 0 && before(d, r, best_d[at - 1], best_j[at - 1])) {
      best_d[at] = best_d[at - 1];
      best_j[at] = best_j[at - 1];
      --at;
    }
    best_d[at] = d;
    best_j[at] = r;
  }
  int head = 0;
  for (int round = 0; round < k; ++round) {
    float d = head < kept ? best_d[head] : FLT_MAX;
    int r = head < kept ? best_j[head] : 0x7fffffff;
    for (int o = 16; o > 0; o /= 2) {
      const float od = __shfl_xor_sync(0xffffffffu, d, o);
      const int oj = __shfl_xor_sync(0xffffffffu, r, o);
      if (before(od, oj, d, r)) d = od, r = oj;
    }
    if (threadIdx.x % 32 == 0) red_d[threadIdx.x / 32] = d, red_j[threadIdx.x / 32] = r;
    __syncthreads();
    if (threadIdx.x == 0) {
      for (int w = 1; w < kThreads / 32; ++w)
        if (before(red_d[w], red_j[w], d, r)) d = red_d[w], r = red_j[w];
      chosen[round] = r;
    }
    __syncthreads();
    if (head < kept && best_j[head] == chosen[round]) ++head;
  }
  // The mean offset, added at position kv.begin + i of layer first_layer + j.
  const float w = 1.0f / static_cast<float>(k);
  const float* offsets = p.offsets + j * p.offsets_layer;
  const int heads = kv.kv.num_kv_heads, hd = kv.kv.head_dim, half = hd / 2;
  const int pos = kv.begin + static_cast<int>(i), layer = p.first_layer + static_cast<int>(j);
  const auto block = static_cast<std::size_t>(kv.table[pos / kv.kv.block_size]);
  auto row = [&](int part, int h) {  // the pool row of K (0) or V (1) of head h
    return static_cast<T*>(kv.kv.pool) +
           ((((block * kv.kv.num_layers + layer) * 2 + part) * heads + h) * kv.kv.block_size +
            static_cast<std::size_t>(pos % kv.kv.block_size)) *
               hd;
  };
  auto mean = [&](int e) {
    float v = 0.0f;
    for (int q = 0; q < k; ++q)
      v += w * offsets[static_cast<std::size_t>(chosen[q]) * (2 * heads * hd) + e];
    return v;
  };
  for (int t = threadIdx.x; t < heads * half; t += kThreads) {  // K: rotate_half pairs
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
  for (int t = threadIdx.x; t < heads * hd; t += kThreads) {  // V
    T* dst = row(1, t / hd) + t % hd;
    *dst = from_f32<T>(to_f32(*dst) + mean(heads * hd + t));
  }
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
  const dim3 grid(static_cast<unsigned>(p.n), static_cast<unsigned>(p.layers));
  if (dt == Dtype::f32)
    nearest_mean_add_kernel<float><<<grid, kThreads, 0, stream>>>(p, kv);
  else
    nearest_mean_add_kernel<__nv_bfloat16><<<grid, kThreads, 0, stream>>>(p, kv);
  return cudaGetLastError();
}

cudaError_t launch_append_anchor_rows(const float* src, int n, int layers, int dim, float* dst,
                                      float* norms, int cap, int row0, cudaStream_t stream) {
  if (n <= 0 || layers <= 0) return cudaSuccess;
  append_rows_kernel<<<n * layers, kThreads, 0, stream>>>(src, layers, dim, dst, norms, cap, row0);
  return cudaGetLastError();
}

}  // namespace agentrt::kernels
