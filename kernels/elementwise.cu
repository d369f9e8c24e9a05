// Element-wise kernels of the forward pass; see ops.h for each one's contract.
#include <cuda_bf16.h>

#include <algorithm>
#include <cstdint>

#include "kernels/device_math.cuh"
#include "kernels/ops.h"

namespace agentrt::kernels {
namespace {

using bf16 = __nv_bfloat16;

template <class T>
__global__ void embed_kernel(const T* embed, const std::int32_t* tokens,
                             const std::int32_t* pending, int hidden, float* x) {
  const int r = blockIdx.x;
  std::int32_t t = tokens[r];
  if (t < 0) t = pending[-1 - t];
  const T* src = embed + static_cast<std::size_t>(t) * hidden;
  float* dst = x + static_cast<std::size_t>(r) * hidden;
  for (int i = threadIdx.x; i < hidden; i += blockDim.x)
    dst[i] = to_f32(src[i]);
}

template <class T>
__global__ void add_rmsnorm_kernel(AddNormParams p) {
  pdl_trigger();  // the next kernel (a GEMM) may launch and load its weights meanwhile
  pdl_wait();
  const int r = blockIdx.x;
  const int src_row = p.rows_of ? p.rows_of[r] : r;
  float* x = p.x + static_cast<std::size_t>(src_row) * p.hidden;
  const float* y = p.y ? p.y + static_cast<std::size_t>(src_row) * p.hidden : nullptr;
  T* out = static_cast<T*>(p.out) + static_cast<std::size_t>(r) * p.hidden;
  // One pass keeps the row in registers when it fits (hidden <= 8 * blockDim.x). Every load
  // is issued before the first store to x: x and y could alias as far as the compiler knows,
  // so loads after a store would each wait a round trip.
  constexpr int kMaxPer = 8;
  float v[kMaxPer], add[kMaxPer];
#pragma unroll
  for (int k = 0; k < kMaxPer; ++k) {
    const int i = threadIdx.x + k * blockDim.x;
    v[k] = i < p.hidden ? x[i] : 0.0f;
    add[k] = y && i < p.hidden ? y[i] + (p.bias ? p.bias[i] : 0.0f) : 0.0f;
  }
  float sq = 0.0f;
#pragma unroll
  for (int k = 0; k < kMaxPer; ++k) {
    const int i = threadIdx.x + k * blockDim.x;
    if (y) {
      v[k] += add[k];
      if (p.write_back && i < p.hidden) x[i] = v[k];
    }
    sq += v[k] * v[k];
  }
  const float total = block_sum(sq);
  const float inv = rsqrtf(total / static_cast<float>(p.hidden) + p.eps);
#pragma unroll
  for (int k = 0; k < kMaxPer; ++k) {
    const int i = threadIdx.x + k * blockDim.x;
    if (i < p.hidden) out[i] = from_f32<T>(p.weight[i] * (v[k] * inv));
  }
}

// A CTA of kQkvWarps warps per (row, group of kQkvWarps heads), a warp per head, where heads
// run over q heads, k heads, then v heads. The CTA computes the row's rotation (cos, sin per
// frequency) once into shared memory for all its heads.
constexpr int kQkvWarps = 8;

template <class T, class S>
__global__ void __launch_bounds__(kQkvWarps * 32) qkv_prepare_kernel(QkvParams p) {
  __shared__ float rot_cos[128], rot_sin[128];
  const int kv_heads = p.kv.num_kv_heads;
  const int all_heads = p.num_heads + 2 * kv_heads;
  const int r = blockIdx.x;
  const int h = blockIdx.y * kQkvWarps + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  const int d = p.kv.head_dim, half = d / 2;
  pdl_wait();
  // The row's q/k values are loaded before the rotation is computed (both wait on memory).
  const bool live = h < all_heads;
  const int width = all_heads * d;
  const S* src = static_cast<const S*>(p.qkv) + static_cast<std::size_t>(r) * width + h * d;
  const float* bias = p.bias ? p.bias + h * d : nullptr;
  const bool is_q = h < p.num_heads, is_k = !is_q && h < p.num_heads + kv_heads;
  // Each lane holds rotation pairs (i, i + half) for i = lane, lane + 32, ... (half <= 128).
  constexpr int kMaxPairs = 4;
  float a[kMaxPairs], b[kMaxPairs];
  float sq = 0.0f;
#pragma unroll
  for (int k = 0; k < kMaxPairs; ++k) {
    const int i = lane + 32 * k;
    a[k] = b[k] = 0.0f;
    if (live && (is_q || is_k) && i < half) {
      a[k] = to_f32(src[i]) + (bias ? bias[i] : 0.0f);
      b[k] = to_f32(src[i + half]) + (bias ? bias[i + half] : 0.0f);
      sq += a[k] * a[k] + b[k] * b[k];
    }
  }
  const int pos = p.positions[r];
  for (int i = threadIdx.x; i < half; i += blockDim.x) {
    const float angle = static_cast<float>(pos) * p.inv_freq[i];
    rot_cos[i] = cosf(angle);
    rot_sin[i] = sinf(angle);
  }
  __syncthreads();
  if (!live) return;
  T* dst;
  if (is_q) {
    dst = static_cast<T*>(p.q_out) + (static_cast<std::size_t>(r) * p.num_heads + h) * d;
  } else {
    const int kv = is_k ? 0 : 1;
    const int head = h - p.num_heads - kv * kv_heads;
    const std::size_t slab = static_cast<std::size_t>(p.kv.block_size) * d;
    const std::size_t off =
        (((static_cast<std::size_t>(p.blocks[r]) * p.kv.num_layers + p.layer) * 2 + kv) * kv_heads +
         head) *
            slab +
        static_cast<std::size_t>(pos % p.kv.block_size) * d;
    dst = static_cast<T*>(p.kv.pool) + off;
  }
  if (!is_q && !is_k) {  // v: bias only
    for (int i = lane; i < d; i += 32)
      dst[i] = from_f32<T>(to_f32(src[i]) + (bias ? bias[i] : 0.0f));
    return;
  }
  const float* norm = is_q ? p.q_norm : p.k_norm;
  float inv = 1.0f;
  if (norm) inv = rsqrtf(warp_sum(sq) / static_cast<float>(d) + p.eps);
#pragma unroll
  for (int k = 0; k < kMaxPairs; ++k) {
    const int i = lane + 32 * k;
    if (i >= half) continue;
    float x0 = a[k], x1 = b[k];
    if (norm) {
      x0 = norm[i] * (x0 * inv);
      x1 = norm[i + half] * (x1 * inv);
    }
    const float c = rot_cos[i], s = rot_sin[i];
    dst[i] = from_f32<T>(x0 * c - x1 * s);
    dst[i + half] = from_f32<T>(x1 * c + x0 * s);
  }
}

__device__ __forceinline__ float silu_times(float g, float u) {
  return g / (1.0f + expf(-g)) * u;
}

template <class T>
__global__ void swiglu_kernel(const T* gate_up, int inter, T* out) {
  pdl_trigger();
  pdl_wait();
  const int r = blockIdx.y;
  const T* g = gate_up + static_cast<std::size_t>(r) * 2 * inter;
  T* o = out + static_cast<std::size_t>(r) * inter;
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < inter; i += gridDim.x * blockDim.x)
    o[i] = from_f32<T>(silu_times(to_f32(g[i]), to_f32(g[inter + i])));
}

// bf16 with inter % 8 == 0: a thread per 8 outputs, 16-byte loads and stores, over all rows.
__global__ void swiglu_bf16x8_kernel(const bf16* gate_up, int rows, int inter, bf16* out) {
  pdl_trigger();
  pdl_wait();
  const std::size_t vecs = static_cast<std::size_t>(inter / 8);
  const std::size_t total = vecs * static_cast<std::size_t>(rows);
  for (std::size_t idx = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x;
       idx < total; idx += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    const std::size_t r = idx / vecs, v = idx % vecs;
    const bf16* g = gate_up + r * 2 * inter + v * 8;
    const uint4 gv = *reinterpret_cast<const uint4*>(g);
    const uint4 uv = *reinterpret_cast<const uint4*>(g + inter);
    const auto* g2 = reinterpret_cast<const __nv_bfloat162*>(&gv);
    const auto* u2 = reinterpret_cast<const __nv_bfloat162*>(&uv);
    uint4 ov;
    auto* o2 = reinterpret_cast<__nv_bfloat162*>(&ov);
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      const float2 gf = __bfloat1622float2(g2[k]), uf = __bfloat1622float2(u2[k]);
      o2[k] = __floats2bfloat162_rn(silu_times(gf.x, uf.x), silu_times(gf.y, uf.y));
    }
    *reinterpret_cast<uint4*>(out + r * inter + v * 8) = ov;
  }
}

__global__ void copy_blocks_kernel(uint4* pool, std::size_t vecs, const std::int32_t* pairs) {
  const std::size_t src = static_cast<std::size_t>(pairs[2 * blockIdx.y]) * vecs;
  const std::size_t dst = static_cast<std::size_t>(pairs[2 * blockIdx.y + 1]) * vecs;
  for (std::size_t i = blockIdx.x * blockDim.x + threadIdx.x; i < vecs;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x)
    pool[dst + i] = pool[src + i];
}

__device__ __forceinline__ std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

template <class T>
__global__ void fill_random_kernel(T* dst, std::size_t n, std::uint64_t seed, float scale) {
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    const std::uint64_t z = mix64(seed * 0x9e3779b97f4a7c15ull + i);
    const float u = static_cast<float>(z >> 40) * (1.0f / 16777216.0f);  // [0, 1)
    dst[i] = from_f32<T>((2.0f * u - 1.0f) * scale);
  }
}

__global__ void fill_f32_kernel(float* dst, std::size_t n, float v) {
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x)
    dst[i] = v;
}

int norm_threads(int hidden) {
  int t = 32;
  while (t < 1024 && t * 8 < hidden)
    t *= 2;
  while (t < 256 && t < hidden)
    t *= 2;
  return t;
}

}  // namespace

cudaError_t launch_embed(Dtype dt, const void* embed, const std::int32_t* tokens,
                         const std::int32_t* pending, int rows, int hidden, float* x,
                         cudaStream_t stream) {
  if (rows == 0) return cudaSuccess;
  if (dt == Dtype::f32)
    embed_kernel<<<rows, 256, 0, stream>>>(static_cast<const float*>(embed), tokens, pending,
                                           hidden, x);
  else
    embed_kernel<<<rows, 256, 0, stream>>>(static_cast<const bf16*>(embed), tokens, pending, hidden,
                                           x);
  return cudaGetLastError();
}

cudaError_t launch_add_rmsnorm(Dtype dt, const AddNormParams& p, cudaStream_t stream) {
  if (p.rows == 0) return cudaSuccess;
  const int threads = norm_threads(p.hidden);
  if (threads * 8 < p.hidden) return cudaErrorInvalidValue;  // hidden > 8192
  if (dt == Dtype::f32) return launch_pdl(add_rmsnorm_kernel<float>, p.rows, threads, 0, stream, p);
  return launch_pdl(add_rmsnorm_kernel<bf16>, p.rows, threads, 0, stream, p);
}

cudaError_t launch_qkv_prepare(Dtype dt, const QkvParams& p, cudaStream_t stream) {
  if (p.rows == 0) return cudaSuccess;
  if (p.kv.head_dim > 256 || p.kv.head_dim % 2) return cudaErrorInvalidValue;
  const int heads = p.num_heads + 2 * p.kv.num_kv_heads;
  const dim3 grid(p.rows, (heads + kQkvWarps - 1) / kQkvWarps);
  if (p.qkv_dtype != Dtype::f32 && p.qkv_dtype != dt) return cudaErrorInvalidValue;
  if (dt == Dtype::f32)
    return launch_pdl(qkv_prepare_kernel<float, float>, grid, kQkvWarps * 32, 0, stream, p);
  if (p.qkv_dtype == Dtype::f32)
    return launch_pdl(qkv_prepare_kernel<bf16, float>, grid, kQkvWarps * 32, 0, stream, p);
  return launch_pdl(qkv_prepare_kernel<bf16, bf16>, grid, kQkvWarps * 32, 0, stream, p);
}

cudaError_t launch_swiglu(Dtype dt, const void* gate_up, int rows, int inter, void* out,
                          cudaStream_t stream) {
  if (rows == 0) return cudaSuccess;
  const auto aligned = [](const void* q) { return reinterpret_cast<std::uintptr_t>(q) % 16 == 0; };
  if (dt == Dtype::bf16 && inter % 8 == 0 && aligned(gate_up) && aligned(out)) {
    const std::size_t vecs = static_cast<std::size_t>(rows) * (inter / 8);
    const unsigned blocks =
        static_cast<unsigned>(std::min<std::size_t>((vecs + 255) / 256, 1 << 16));
    return launch_pdl(swiglu_bf16x8_kernel, blocks, 256, 0, stream,
                      static_cast<const bf16*>(gate_up), rows, inter, static_cast<bf16*>(out));
  }
  const dim3 grid((inter + 255) / 256 < 64 ? (inter + 255) / 256 : 64, rows);
  if (dt == Dtype::f32) {
    return launch_pdl(swiglu_kernel<float>, grid, 256, 0, stream,
                      static_cast<const float*>(gate_up), inter, static_cast<float*>(out));
  }
  return launch_pdl(swiglu_kernel<bf16>, grid, 256, 0, stream, static_cast<const bf16*>(gate_up),
                    inter, static_cast<bf16*>(out));
}

cudaError_t launch_copy_blocks(void* pool, std::size_t block_bytes, const std::int32_t* pairs,
                               int count, cudaStream_t stream) {
  if (count == 0) return cudaSuccess;
  if (block_bytes % 16) return cudaErrorInvalidValue;
  const std::size_t vecs = block_bytes / 16;
  const dim3 grid(static_cast<unsigned>(vecs / 256 + 1 < 64 ? vecs / 256 + 1 : 64), count);
  copy_blocks_kernel<<<grid, 256, 0, stream>>>(static_cast<uint4*>(pool), vecs, pairs);
  return cudaGetLastError();
}

cudaError_t launch_fill_random(Dtype dt, void* dst, std::size_t count, std::uint64_t seed,
                               float scale, cudaStream_t stream) {
  if (count == 0) return cudaSuccess;
  if (dt == Dtype::f32)
    fill_random_kernel<<<1024, 256, 0, stream>>>(static_cast<float*>(dst), count, seed, scale);
  else
    fill_random_kernel<<<1024, 256, 0, stream>>>(static_cast<bf16*>(dst), count, seed, scale);
  return cudaGetLastError();
}

cudaError_t launch_fill_f32(float* dst, std::size_t count, float value, cudaStream_t stream) {
  if (count == 0) return cudaSuccess;
  fill_f32_kernel<<<1024, 256, 0, stream>>>(dst, count, value);
  return cudaGetLastError();
}

}  // namespace agentrt::kernels
