// Row primitives of the GPU sampler (kernels/sampling.cu): one kThreads block per row, keys
// that order floats as unsigned integers, the row's uniform draws, the argmax reduction and
// rows read V floats at a time. Included by the sampler's .cu only.
#pragma once

#include <cstdint>

#include "kernels/device_math.cuh"

namespace agentrt::kernels::sampling {

constexpr int kThreads = 1024;

// Monotone map of a float to an unsigned key (larger float, larger key).
__device__ __forceinline__ std::uint32_t key_of(float x) {
  const std::uint32_t u = __float_as_uint(x);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

// The row's r-th uniform draw in [0, 1): (seed, step) fix the row's draws, r counts its
// rejected rounds.
__device__ __forceinline__ double uniform01(std::uint64_t seed, std::uint64_t step, int r) {
  std::uint64_t z = seed + 0x9e3779b97f4a7c15ull * (step + 1) +
                    0xd1b54a32d192ed03ull * static_cast<std::uint64_t>(r);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-53;
}

struct Best {
  float v;
  int i;
};
__device__ __forceinline__ Best better(Best a, Best b) {
  return (b.v > a.v || (b.v == a.v && b.i < a.i)) ? b : a;
}

// The block's best of every thread's `b` (ties to the lowest id); every thread gets it.
__device__ inline Best block_best(Best b) {
  __shared__ Best warp_best[kThreads / 32];
  for (int o = 16; o > 0; o >>= 1) {
    Best other{__shfl_xor_sync(0xffffffffu, b.v, o), __shfl_xor_sync(0xffffffffu, b.i, o)};
    b = better(b, other);
  }
  if (threadIdx.x % 32 == 0) warp_best[threadIdx.x / 32] = b;
  __syncthreads();
  b = warp_best[0];
  for (int w = 1; w < kThreads / 32; ++w)
    b = better(b, warp_best[w]);
  __syncthreads();
  return b;
}

// A row read V floats at a time: group g is elements [g * V, g * V + V), and thread t takes
// groups t, t + kThreads, ... (V = 4 when the vocabulary is a multiple of 4: 16-byte loads).
template <int V>
__device__ __forceinline__ void load_group(const float* row, int g, float (&x)[V]) {
  if constexpr (V == 4) {
    const float4 v = __ldg(reinterpret_cast<const float4*>(row) + g);
    x[0] = v.x, x[1] = v.y, x[2] = v.z, x[3] = v.w;
  } else {
    x[0] = __ldg(row + g);
  }
}

// Calls f(x, i) for every element x = row[i] of this thread's groups (threadIdx.x,
// threadIdx.x + kThreads, ...), U groups unrolled so their loads are in flight together
// (U = 1 forbids unrolling: the argmax pass lost 8% so).
template <int V, int U, class F>
__device__ __forceinline__ void for_each_element(const float* row, int vocab, F&& f) {
#pragma unroll U
  for (int g = threadIdx.x; g < vocab / V; g += kThreads) {
    float x[V];
    load_group<V>(row, g, x);
#pragma unroll
    for (int e = 0; e < V; ++e)
      f(x[e], g * V + e);
  }
}

// The float whose key_of() is k.
__device__ __forceinline__ float value_of(std::uint32_t k) {
  return __uint_as_float((k & 0x80000000u) ? (k & 0x7fffffffu) : ~k);
}

// Weight of an element of scaled logit x in the draw: exp(x - mx) when allowed (key at least
// `floor`), else 0.
__device__ __forceinline__ float weight(float x, float mx, std::uint32_t floor) {
  return key_of(x) >= floor ? __expf(x - mx) : 0.0f;
}

__device__ __forceinline__ float warp_inclusive_sum(float v) {
  const int lane = static_cast<int>(threadIdx.x % 32);
#pragma unroll
  for (int o = 1; o < 32; o <<= 1) {
    const float t = __shfl_up_sync(0xffffffffu, v, o);
    if (lane >= o) v += t;
  }
  return v;
}

}  // namespace agentrt::kernels::sampling
