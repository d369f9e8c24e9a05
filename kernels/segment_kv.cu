// Token-granular KV kernels for KvReuse::blend; see segment_kv.h for each one's contract.
// One warp per (token, layer, K|V, kv head) row of head_dim elements.
#include <cuda_bf16.h>

#include "kernels/device_math.cuh"
#include "kernels/segment_kv.h"

namespace agentrt::kernels {
namespace {

using bf16 = __nv_bfloat16;

struct Row {
  std::size_t pool, tokens;  // element offsets of the row in the pool and in `tokens`
  int token, layer, kv;
};

// The row of warp item `item` (items run over token, layer, K|V, kv head).
__device__ __forceinline__ Row row_of(const TokenKvParams& p, long long item) {
  const int heads = p.kv.num_kv_heads, layers = p.kv.num_layers, d = p.kv.head_dim;
  Row r;
  const int head = static_cast<int>(item % heads);
  r.kv = static_cast<int>((item / heads) % 2);
  r.layer = static_cast<int>((item / (2 * heads)) % layers);
  r.token = static_cast<int>(item / (2LL * heads * layers));
  const int pos = p.begin + r.token;
  const std::size_t block = static_cast<std::size_t>(p.table[pos / p.kv.block_size]);
  r.pool = ((((block * layers + r.layer) * 2 + r.kv) * heads + head) * p.kv.block_size +
            static_cast<std::size_t>(pos % p.kv.block_size)) *
           d;
  r.tokens = static_cast<std::size_t>(item) * d;
  return r;
}

template <class T>
__global__ void gather_kernel(TokenKvParams p, long long items) {
  const long long item = blockIdx.x * static_cast<long long>(blockDim.x / 32) + threadIdx.x / 32;
  if (item >= items) return;
  const Row r = row_of(p, item);
  const T* src = static_cast<const T*>(p.kv.pool) + r.pool;
  T* dst = static_cast<T*>(p.tokens) + r.tokens;
  for (int i = threadIdx.x % 32; i < p.kv.head_dim; i += 32)
    dst[i] = src[i];
}

// Rotates the pair (x0, x1) = (v[i], v[i + half]) by delta * inv_freq[i].
__device__ __forceinline__ void rotate(float& x0, float& x1, int delta, float inv_freq) {
  const float angle = static_cast<float>(delta) * inv_freq;
  const float c = cosf(angle), s = sinf(angle);
  const float a = x0;
  x0 = a * c - x1 * s;
  x1 = x1 * c + a * s;
}

template <class T>
__global__ void place_kernel(TokenKvParams p, const float* inv_freq, int delta, long long items) {
  const long long item = blockIdx.x * static_cast<long long>(blockDim.x / 32) + threadIdx.x / 32;
  if (item >= items) return;
  const Row r = row_of(p, item);
  const T* src = static_cast<const T*>(p.tokens) + r.tokens;
  T* dst = static_cast<T*>(p.kv.pool) + r.pool;
  const int lane = threadIdx.x % 32, d = p.kv.head_dim;
  if (r.kv == 1 || delta == 0) {
    for (int i = lane; i < d; i += 32)
      dst[i] = src[i];
    return;
  }
  const int half = d / 2;
  for (int i = lane; i < half; i += 32) {
    float x0 = to_f32(src[i]), x1 = to_f32(src[i + half]);
    rotate(x0, x1, delta, inv_freq[i]);
    dst[i] = from_f32<T>(x0);
    dst[i + half] = from_f32<T>(x1);
  }
}

constexpr int kDeviationWarps = 4;

// One block per token: warp w sums the rows (K|V, head) w, w + kDeviationWarps, ... of the
// token's layer; the warps' sums are added in warp order.
template <class T>
__global__ void deviation_kernel(TokenKvParams p, const float* inv_freq, int delta, int layer,
                                 float* out) {
  __shared__ float partial[kDeviationWarps];
  const int token = blockIdx.x, warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int heads = p.kv.num_kv_heads, d = p.kv.head_dim, half = d / 2;
  float sum = 0.0f;
  for (int row = warp; row < 2 * heads; row += kDeviationWarps) {
    const long long item =
        (static_cast<long long>(token) * p.kv.num_layers + layer) * 2 * heads + row;
    const Row r = row_of(p, item);
    const T* a = static_cast<const T*>(p.tokens) +
                 (static_cast<std::size_t>(token) * 2 * heads + row) * d;  // the layer's slice
    const T* b = static_cast<const T*>(p.kv.pool) + r.pool;
    if (r.kv == 1) {
      for (int i = lane; i < d; i += 32) {
        const float e = to_f32(a[i]) - to_f32(b[i]);
        sum += e * e;
      }
      continue;
    }
    for (int i = lane; i < half; i += 32) {
      float x0 = to_f32(a[i]), x1 = to_f32(a[i + half]);
      rotate(x0, x1, delta, inv_freq[i]);
      const float e0 = x0 - to_f32(b[i]), e1 = x1 - to_f32(b[i + half]);
      sum += e0 * e0 + e1 * e1;
    }
  }
  sum = warp_sum(sum);
  if (lane == 0) partial[warp] = sum;
  __syncthreads();
  if (threadIdx.x == 0) {
    float t = 0.0f;
    for (int w = 0; w < kDeviationWarps; ++w)
      t += partial[w];
    out[token] = t;
  }
}

constexpr int kWarpsPerBlock = 8;

long long rows_of(const TokenKvParams& p) {
  return static_cast<long long>(p.count) * p.kv.num_layers * 2 * p.kv.num_kv_heads;
}

unsigned blocks_for(long long items) {
  return static_cast<unsigned>((items + kWarpsPerBlock - 1) / kWarpsPerBlock);
}

}  // namespace

cudaError_t launch_gather_token_kv(Dtype dt, const TokenKvParams& p, cudaStream_t stream) {
  const long long items = rows_of(p);
  if (items == 0) return cudaSuccess;
  if (dt == Dtype::f32)
    gather_kernel<float><<<blocks_for(items), kWarpsPerBlock * 32, 0, stream>>>(p, items);
  else
    gather_kernel<bf16><<<blocks_for(items), kWarpsPerBlock * 32, 0, stream>>>(p, items);
  return cudaGetLastError();
}

cudaError_t launch_place_token_kv(Dtype dt, const TokenKvParams& p, const float* inv_freq,
                                  int delta, cudaStream_t stream) {
  const long long items = rows_of(p);
  if (items == 0) return cudaSuccess;
  if (p.kv.head_dim % 2) return cudaErrorInvalidValue;
  if (dt == Dtype::f32) {
    place_kernel<float>
        <<<blocks_for(items), kWarpsPerBlock * 32, 0, stream>>>(p, inv_freq, delta, items);
  } else {
    place_kernel<bf16>
        <<<blocks_for(items), kWarpsPerBlock * 32, 0, stream>>>(p, inv_freq, delta, items);
  }
  return cudaGetLastError();
}

cudaError_t launch_token_kv_deviation(Dtype dt, const TokenKvParams& p, const float* inv_freq,
                                      int delta, int layer, float* out, cudaStream_t stream) {
  if (p.count == 0) return cudaSuccess;
  if (p.kv.head_dim % 2 || layer < 0 || layer >= p.kv.num_layers) return cudaErrorInvalidValue;
  if (dt == Dtype::f32) {
    deviation_kernel<float>
        <<<p.count, kDeviationWarps * 32, 0, stream>>>(p, inv_freq, delta, layer, out);
  } else {
    deviation_kernel<bf16>
        <<<p.count, kDeviationWarps * 32, 0, stream>>>(p, inv_freq, delta, layer, out);
  }
  return cudaGetLastError();
}

}  // namespace agentrt::kernels
