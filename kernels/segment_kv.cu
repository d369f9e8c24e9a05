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

// The row of warp item `item`, where items run over token, layer of [first_layer,
// first_layer + layers), K|V, kv head, and `tokens` holds those layers of each token.
__device__ __forceinline__ Row row_of(const TokenKvParams& p, long long item, int first_layer,
                                      int layers) {
  const int heads = p.kv.num_kv_heads, d = p.kv.head_dim;
  Row r;
  const int head = static_cast<int>(item % heads);
  r.kv = static_cast<int>((item / heads) % 2);
  r.layer = first_layer + static_cast<int>((item / (2 * heads)) % layers);
  r.token = static_cast<int>(item / (2LL * heads * layers));
  const int pos = p.begin + r.token;
  const std::size_t block = static_cast<std::size_t>(p.table[pos / p.kv.block_size]);
  r.pool = ((((block * p.kv.num_layers + r.layer) * 2 + r.kv) * heads + head) * p.kv.block_size +
            static_cast<std::size_t>(pos % p.kv.block_size)) *
           d;
  r.tokens = static_cast<std::size_t>(item) * d;
  return r;
}

// Every layer of each token.
__device__ __forceinline__ Row row_of(const TokenKvParams& p, long long item) {
  return row_of(p, item, 0, p.kv.num_layers);
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

// Un-rotates (to position 0) the row's K in `tokens` and in the pool, each by its own
// position, and writes their difference and the first alone; V rows are not rotated.
template <class T>
__global__ void offsets_kernel(TokenKvParams p, TokenKvOffsetParams o, long long items) {
  const long long item = blockIdx.x * static_cast<long long>(blockDim.x / 32) + threadIdx.x / 32;
  if (item >= items) return;
  const Row r = row_of(p, item, o.first_layer, o.last_layer - o.first_layer);
  // The row in `tokens`: in the layers' slice, or among every layer of its token.
  const int heads = p.kv.num_kv_heads;
  const std::size_t at =
      o.tokens_all_layers
          ? (((static_cast<std::size_t>(r.token) * p.kv.num_layers + r.layer) * 2 + r.kv) * heads +
             static_cast<std::size_t>(item % heads)) *
                p.kv.head_dim
          : r.tokens;
  const T* in = static_cast<const T*>(p.tokens) + at;
  const T* now = static_cast<const T*>(p.kv.pool) + r.pool;
  float* off = o.offsets ? o.offsets + r.tokens : nullptr;
  float* un = o.unrotated ? o.unrotated + r.tokens : nullptr;
  const int lane = threadIdx.x % 32, d = p.kv.head_dim;
  if (r.kv == 1) {
    for (int i = lane; i < d; i += 32) {
      const float a = to_f32(in[i]);
      if (off) off[i] = to_f32(now[i]) - a;
      if (un) un[i] = a;
    }
    return;
  }
  const int half = d / 2;
  const int pos_in = o.source_begin + r.token, pos_now = p.begin + r.token;
  for (int i = lane; i < half; i += 32) {
    float a0 = to_f32(in[i]), a1 = to_f32(in[i + half]);
    rotate(a0, a1, -pos_in, o.inv_freq[i]);
    if (un) {
      un[i] = a0;
      un[i + half] = a1;
    }
    if (off) {
      float b0 = to_f32(now[i]), b1 = to_f32(now[i + half]);
      rotate(b0, b1, -pos_now, o.inv_freq[i]);
      off[i] = b0 - a0;
      off[i + half] = b1 - a1;
    }
  }
}

// Adds the row's offset, its K part rotated to the row's position, to the pool.
template <class T>
__global__ void add_offsets_kernel(TokenKvParams p, const float* inv_freq, int first_layer,
                                   int layers, const float* offsets, long long items) {
  const long long item = blockIdx.x * static_cast<long long>(blockDim.x / 32) + threadIdx.x / 32;
  if (item >= items) return;
  const Row r = row_of(p, item, first_layer, layers);
  const float* src = offsets + r.tokens;
  T* dst = static_cast<T*>(p.kv.pool) + r.pool;
  const int lane = threadIdx.x % 32, d = p.kv.head_dim;
  if (r.kv == 1) {
    for (int i = lane; i < d; i += 32)
      dst[i] = from_f32<T>(to_f32(dst[i]) + src[i]);
    return;
  }
  const int half = d / 2, pos = p.begin + r.token;
  for (int i = lane; i < half; i += 32) {
    float x0 = src[i], x1 = src[i + half];
    rotate(x0, x1, pos, inv_freq[i]);
    dst[i] = from_f32<T>(to_f32(dst[i]) + x0);
    dst[i + half] = from_f32<T>(to_f32(dst[i + half]) + x1);
  }
}

constexpr int kWarpsPerBlock = 8;

// Rows of the layers [first_layer, last_layer) of p.count tokens; every layer by default.
long long rows_of(const TokenKvParams& p, int first_layer, int last_layer) {
  return static_cast<long long>(p.count) * (last_layer - first_layer) * 2 * p.kv.num_kv_heads;
}

long long rows_of(const TokenKvParams& p) {
  return rows_of(p, 0, p.kv.num_layers);
}

bool bad_layers(const TokenKvParams& p, int first_layer, int last_layer) {
  return first_layer < 0 || first_layer > last_layer || last_layer > p.kv.num_layers;
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

cudaError_t launch_token_kv_offsets(Dtype dt, const TokenKvParams& p, const TokenKvOffsetParams& o,
                                    cudaStream_t stream) {
  if (p.kv.head_dim % 2 || bad_layers(p, o.first_layer, o.last_layer)) {
    return cudaErrorInvalidValue;
  }
  const long long items = rows_of(p, o.first_layer, o.last_layer);
  if (items == 0 || (o.offsets == nullptr && o.unrotated == nullptr)) return cudaSuccess;
  if (dt == Dtype::f32)
    offsets_kernel<float><<<blocks_for(items), kWarpsPerBlock * 32, 0, stream>>>(p, o, items);
  else
    offsets_kernel<bf16><<<blocks_for(items), kWarpsPerBlock * 32, 0, stream>>>(p, o, items);
  return cudaGetLastError();
}

cudaError_t launch_add_token_kv_offsets(Dtype dt, const TokenKvParams& p, const float* inv_freq,
                                        int first_layer, int last_layer, const float* offsets,
                                        cudaStream_t stream) {
  if (p.kv.head_dim % 2 || bad_layers(p, first_layer, last_layer)) return cudaErrorInvalidValue;
  const long long items = rows_of(p, first_layer, last_layer);
  if (items == 0) return cudaSuccess;
  const int layers = last_layer - first_layer;
  if (dt == Dtype::f32) {
    add_offsets_kernel<float><<<blocks_for(items), kWarpsPerBlock * 32, 0, stream>>>(
        p, inv_freq, first_layer, layers, offsets, items);
  } else {
    add_offsets_kernel<bf16><<<blocks_for(items), kWarpsPerBlock * 32, 0, stream>>>(
        p, inv_freq, first_layer, layers, offsets, items);
  }
  return cudaGetLastError();
}

}  // namespace agentrt::kernels
