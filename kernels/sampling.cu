// GPU sampling: one 1024-thread block per row. Thresholds for top-k (count) and top-p (mass)
// come from a 4-pass radix select over order-preserving 32-bit keys of the scaled logits;
// the draw is a block-wide prefix sum over candidates in id order.
#include <cub/block/block_scan.cuh>

#include "kernels/device_math.cuh"
#include "kernels/sampling.h"

namespace agentrt::kernels {
namespace {

constexpr int kThreads = 1024;

// Monotone map of a float to an unsigned key (larger float, larger key).
__device__ __forceinline__ std::uint32_t key_of(float x) {
  const std::uint32_t u = __float_as_uint(x);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

__device__ __forceinline__ double uniform01(std::uint64_t seed, std::uint64_t step) {
  std::uint64_t z = seed + 0x9e3779b97f4a7c15ull * (step + 1);
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

// Argmax over the row, ties to the lowest id; every thread gets it.
__device__ Best block_argmax(const float* row, int vocab) {
  __shared__ Best warp_best[kThreads / 32];
  Best b{-INFINITY, vocab};
  for (int i = threadIdx.x; i < vocab; i += kThreads)
    b = better(b, Best{row[i], i});
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

// hist[bin] += w for each lane of the warp that is `on`. Logits crowd into a few bins (the
// first pass's bins are sign and exponent), so the lanes of one bin are summed in the warp
// first and added by one lane: up to kWarpGroups bins a call this way, the rest (spread
// bins) by plain shared atomics. Every lane of the warp calls it.
constexpr int kWarpGroups = 4;
__device__ __forceinline__ void hist_add(float* hist, bool on, std::uint32_t bin, float w) {
  const int lane = static_cast<int>(threadIdx.x % 32);
  std::uint32_t pending = __ballot_sync(0xffffffffu, on);
#pragma unroll 1
  for (int g = 0; g < kWarpGroups && pending != 0; ++g) {
    const int leader = __ffs(static_cast<int>(pending)) - 1;
    const std::uint32_t lb = __shfl_sync(0xffffffffu, bin, leader);
    const bool mine = on && bin == lb;
    const float v = warp_sum(mine ? w : 0.0f);
    if (lane == leader) atomicAdd(&hist[lb], v);
    if (mine) on = false;
    pending = __ballot_sync(0xffffffffu, on);
  }
  if (on) atomicAdd(&hist[bin], w);
}

// The largest key K such that the weight of eligible elements (key >= min_key) with key >= K
// reaches `target`. Weight is 1 (counts) or exp(x - mx) (mass). Not inlined: inlined twice
// into the kernel, whose 1,024 threads allow 64 registers, it spilled.
__device__ __noinline__ std::uint32_t radix_threshold(const float* row, int vocab, float inv_t,
                                                      float mx, std::uint32_t min_key, float target,
                                                      bool mass) {
  __shared__ float hist[256];
  __shared__ std::uint32_t chosen;
  __shared__ float above_s;
  std::uint32_t prefix = 0, mask = 0;
  float above = 0.0f;  // weight of eligible elements above the current prefix
  for (int shift = 24; shift >= 0; shift -= 8) {
    for (int b = threadIdx.x; b < 256; b += kThreads)
      hist[b] = 0.0f;
    __syncthreads();
    // Whole warps every iteration (hist_add's shuffles), past the row's end too.
    for (int base = 0; base < vocab; base += kThreads) {
      const int i = base + static_cast<int>(threadIdx.x);
      const float x = i < vocab ? row[i] * inv_t : -INFINITY;
      const std::uint32_t k = key_of(x);
      const bool on = i < vocab && k >= min_key && (k & mask) == prefix;
      hist_add(hist, on, (k >> shift) & 255u, on ? (mass ? __expf(x - mx) : 1.0f) : 0.0f);
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      float cum = above;
      std::uint32_t pick = 0;
      for (int b = 255; b >= 0; --b) {
        if (hist[b] == 0.0f) continue;
        pick = static_cast<std::uint32_t>(b);  // the lowest non-empty bin if never reached
        if (cum + hist[b] >= target) break;
        cum += hist[b];
      }
      chosen = pick;
      above_s = cum;
    }
    __syncthreads();
    prefix |= chosen << shift;
    mask |= 255u << shift;
    above = above_s;
    __syncthreads();
  }
  return prefix;
}

// Every thread of the block: log of the sum of exp(row[i] - mx) over the row.
__device__ float block_log_sum_exp(const float* row, int vocab, float mx) {
  __shared__ float warp_sum[kThreads / 32];
  float sum = 0.0f;
  for (int i = threadIdx.x; i < vocab; i += kThreads)
    sum += __expf(row[i] - mx);
  for (int o = 16; o > 0; o >>= 1)
    sum += __shfl_xor_sync(0xffffffffu, sum, o);
  if (threadIdx.x % 32 == 0) warp_sum[threadIdx.x / 32] = sum;
  __syncthreads();
  float total = 0.0f;
  for (int w = 0; w < kThreads / 32; ++w)
    total += warp_sum[w];
  __syncthreads();
  return logf(total);
}

// Writes the row's token and, when asked, its logprob under the raw logits. Every thread
// of the block calls it.
__device__ void emit(const float* row, int vocab, float raw_max, int token, std::int32_t* out,
                     float* logprobs) {
  if (logprobs != nullptr) {
    const float lse = block_log_sum_exp(row, vocab, raw_max);
    if (threadIdx.x == 0) logprobs[blockIdx.x] = row[token] - raw_max - lse;
  }
  if (threadIdx.x == 0) out[blockIdx.x] = token;
}

__global__ void __launch_bounds__(kThreads)
    sample_kernel(const float* logits, int vocab, const SampleParams* params, std::int32_t* out,
                  float* logprobs) {
  const SampleParams p = params[blockIdx.x];
  const float* row = logits + static_cast<std::size_t>(blockIdx.x) * vocab;
  const Best top = block_argmax(row, vocab);
  if (p.temperature == 0.0f) return emit(row, vocab, top.v, top.i, out, logprobs);
  const float inv_t = 1.0f / p.temperature;
  const float mx = top.v * inv_t;  // the scaled maximum (scaling by 1/T > 0 keeps the argmax)
  std::uint32_t cut = 0;
  if (p.top_k > 0 && p.top_k < vocab)
    cut = radix_threshold(row, vocab, inv_t, mx, 0, static_cast<float>(p.top_k), false);
  if (p.top_p < 1.0f) {
    // Mass of the top-k set (everything at or above cut).
    __shared__ float total_s;
    if (threadIdx.x == 0) total_s = 0.0f;
    __syncthreads();
    float local = 0.0f;
    for (int i = threadIdx.x; i < vocab; i += kThreads) {
      const float x = row[i] * inv_t;
      if (key_of(x) >= cut) local += __expf(x - mx);
    }
    local = warp_sum(local);
    if (threadIdx.x % 32 == 0) atomicAdd(&total_s, local);  // a warp's sum: 32 adds, not 1024
    __syncthreads();
    cut = max(cut, radix_threshold(row, vocab, inv_t, mx, cut, p.top_p * total_s, true));
  }
  if (p.min_p > 0.0f) cut = max(cut, key_of(mx + logf(p.min_p)));

  // Draw: contiguous chunks per thread, prefix sums of candidate mass in id order.
  using Scan = cub::BlockScan<float, kThreads>;
  __shared__ typename Scan::TempStorage scan_storage;
  __shared__ int picked;
  __shared__ int last;
  if (threadIdx.x == 0) {
    picked = -1;
    last = top.i;
  }
  __syncthreads();
  const int chunk = (vocab + kThreads - 1) / kThreads;
  const int begin = min(vocab, static_cast<int>(threadIdx.x) * chunk),
            end = min(vocab, begin + chunk);
  float local = 0.0f;
  int local_last = -1;
  for (int i = begin; i < end; ++i) {
    const float x = row[i] * inv_t;
    if (key_of(x) >= cut) {
      local += __expf(x - mx);
      local_last = i;
    }
  }
  if (local_last >= 0) atomicMax(&last, local_last);
  float prefix = 0.0f, total = 0.0f;
  Scan(scan_storage).ExclusiveSum(local, prefix, total);
  const float u = static_cast<float>(uniform01(p.seed, p.step)) * total;
  if (local > 0.0f && u >= prefix && u < prefix + local) {
    float cum = prefix;
    for (int i = begin; i < end; ++i) {
      const float x = row[i] * inv_t;
      if (key_of(x) < cut) continue;
      cum += __expf(x - mx);
      if (u < cum) {
        picked = i;
        break;
      }
    }
  }
  __syncthreads();
  emit(row, vocab, top.v, picked >= 0 ? picked : last, out, logprobs);
}

}  // namespace

__global__ void apply_token_masks_kernel(float* logits, int vocab, const SampleParams* params,
                                         const std::uint64_t* masks, int words_per_row) {
  const int m = params[blockIdx.y].mask;
  if (m < 0) return;
  // One thread a token: coalesced writes; a warp's 32 tokens share one mask word.
  const int t = blockIdx.x * blockDim.x + threadIdx.x;
  if (t >= vocab) return;
  const std::uint64_t bits = masks[static_cast<std::size_t>(m) * words_per_row + (t >> 6)];
  if (!((bits >> (t & 63)) & 1ull))
    logits[static_cast<std::size_t>(blockIdx.y) * vocab + t] = -INFINITY;
}

cudaError_t launch_apply_token_masks(float* logits, int rows, int vocab, const SampleParams* params,
                                     const std::uint64_t* masks, int words_per_row,
                                     cudaStream_t stream) {
  if (vocab < 1 || static_cast<std::int64_t>(words_per_row) * 64 < vocab) {
    return cudaErrorInvalidValue;
  }
  if (rows == 0) return cudaSuccess;
  constexpr int kBlock = 256;
  const dim3 grid((vocab + kBlock - 1) / kBlock, rows);
  apply_token_masks_kernel<<<grid, kBlock, 0, stream>>>(logits, vocab, params, masks,
                                                        words_per_row);
  return cudaGetLastError();
}

cudaError_t launch_sample(const float* logits, int rows, int vocab, const SampleParams* params,
                          std::int32_t* tokens, float* logprobs, cudaStream_t stream) {
  if (vocab < 1) return cudaErrorInvalidValue;
  if (rows == 0) return cudaSuccess;
  sample_kernel<<<rows, kThreads, 0, stream>>>(logits, vocab, params, tokens, logprobs);
  return cudaGetLastError();
}

}  // namespace agentrt::kernels
