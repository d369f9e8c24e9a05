#include <cfloat>

#include "kernels/anchor_kernels.h"

namespace agentrt::kernels {
namespace {

constexpr int kThreads = 256;

// Block-wide sum of one float per thread (kThreads threads); every thread gets it.
__device__ float block_sum(float v, float* shared) {
  for (int o = 16; o > 0; o /= 2)
    v += __shfl_xor_sync(0xffffffffu, v, o);
  if (threadIdx.x % 32 == 0) shared[threadIdx.x / 32] = v;
  __syncthreads();
  float t = 0.0f;
  for (int w = 0; w < kThreads / 32; ++w)
    t += shared[w];
  __syncthreads();
  return t;
}

__global__ void row_norms_kernel(const float* x, int dim, std::size_t ld, float* out) {
  __shared__ float shared[kThreads / 32];
  const float* row = x + blockIdx.x * ld;
  float v = 0.0f;
  for (int e = threadIdx.x; e < dim; e += kThreads)
    v += row[e] * row[e];
  v = block_sum(v, shared);
  if (threadIdx.x == 0) out[blockIdx.x] = v;
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

// One block per row: each thread keeps its k nearest of the j it scans (sorted), then k
// rounds of a block-wide minimum over the threads' heads pick the row's k nearest.
__global__ void nearest_mean_kernel(const float* dot, const float* probe, int m, int ld,
                                    const float* xn, const float* yn, int k, const float* offsets,
                                    int dim, float* out, std::size_t out_ld) {
  __shared__ float red_d[kThreads / 32];
  __shared__ int red_j[kThreads / 32];
  __shared__ int chosen[kMaxAnchorNeighbours];
  const std::size_t i = blockIdx.x;
  const float* drow = dot + i * ld;
  const float* prow = probe + i * ld;
  const float x = xn[i];
  float best_d[kMaxAnchorNeighbours];
  int best_j[kMaxAnchorNeighbours];
  int kept = 0;
  for (int j = threadIdx.x; j < m; j += kThreads) {
    const float d = fmaxf(0.0f, drow[j] * -2.0f + x + yn[j]) + prow[j];
    if (kept == k && !before(d, j, best_d[k - 1], best_j[k - 1])) continue;
    int at = kept < k ? kept++ : k - 1;
    while (at > 0 && before(d, j, best_d[at - 1], best_j[at - 1])) {
      best_d[at] = best_d[at - 1];
      best_j[at] = best_j[at - 1];
      --at;
    }
    best_d[at] = d;
    best_j[at] = j;
  }
  int head = 0;
  for (int round = 0; round < k; ++round) {
    float d = head < kept ? best_d[head] : FLT_MAX;
    int j = head < kept ? best_j[head] : 0x7fffffff;
    for (int o = 16; o > 0; o /= 2) {
      const float od = __shfl_xor_sync(0xffffffffu, d, o);
      const int oj = __shfl_xor_sync(0xffffffffu, j, o);
      if (before(od, oj, d, j)) d = od, j = oj;
    }
    if (threadIdx.x % 32 == 0) red_d[threadIdx.x / 32] = d, red_j[threadIdx.x / 32] = j;
    __syncthreads();
    if (threadIdx.x == 0) {
      for (int w = 1; w < kThreads / 32; ++w)
        if (before(red_d[w], red_j[w], d, j)) d = red_d[w], j = red_j[w];
      chosen[round] = j;
    }
    __syncthreads();
    if (head < kept && best_j[head] == chosen[round]) ++head;
  }
  const float w = 1.0f / static_cast<float>(k);
  float* o = out + i * out_ld;
  for (int e = threadIdx.x; e < dim; e += kThreads) {
    float v = 0.0f;
    for (int q = 0; q < k; ++q)
      v += w * offsets[static_cast<std::size_t>(chosen[q]) * dim + e];
    o[e] = v;
  }
}

__global__ void append_rows_kernel(const float* src, int layers, int dim, float* dst, float* norms,
                                   int cap, int row0) {
  __shared__ float shared[kThreads / 32];
  const int i = blockIdx.x / layers, l = blockIdx.x % layers;
  const float* s = src + static_cast<std::size_t>(blockIdx.x) * dim;
  const std::size_t row = static_cast<std::size_t>(l) * cap + row0 + i;
  float* d = dst + row * dim;
  float v = 0.0f;
  for (int e = threadIdx.x; e < dim; e += kThreads) {
    d[e] = s[e];
    v += s[e] * s[e];
  }
  v = block_sum(v, shared);
  if (threadIdx.x == 0) norms[row] = v;
}

}  // namespace

cudaError_t launch_row_norms(const float* x, int rows, int dim, std::size_t ld, float* out,
                             cudaStream_t stream) {
  if (rows <= 0) return cudaSuccess;
  row_norms_kernel<<<rows, kThreads, 0, stream>>>(x, dim, ld, out);
  return cudaGetLastError();
}

cudaError_t launch_probe_distances(float* dot, int n, int m, int ld, const float* xn,
                                   const float* yn, float* row_min, cudaStream_t stream) {
  if (n <= 0) return cudaSuccess;
  if (m <= 0 || ld < m) return cudaErrorInvalidValue;
  probe_distances_kernel<<<n, kThreads, 0, stream>>>(dot, m, ld, xn, yn, row_min);
  return cudaGetLastError();
}

cudaError_t launch_nearest_mean(const float* dot, const float* probe, int n, int m, int ld,
                                const float* xn, const float* yn, int k, const float* offsets,
                                int dim, float* out, std::size_t out_ld, cudaStream_t stream) {
  if (n <= 0) return cudaSuccess;
  if (k < 1 || k > m || k > kMaxAnchorNeighbours || ld < m) return cudaErrorInvalidValue;
  nearest_mean_kernel<<<n, kThreads, 0, stream>>>(dot, probe, m, ld, xn, yn, k, offsets, dim, out,
                                                  out_ld);
  return cudaGetLastError();
}

cudaError_t launch_append_anchor_rows(const float* src, int n, int layers, int dim, float* dst,
                                      float* norms, int cap, int row0, cudaStream_t stream) {
  if (n <= 0 || layers <= 0) return cudaSuccess;
  append_rows_kernel<<<n * layers, kThreads, 0, stream>>>(src, layers, dim, dst, norms, cap, row0);
  return cudaGetLastError();
}

}  // namespace agentrt::kernels
