// Exact cuts of a row for the GPU sampler (kernels/sampling.cu): the radix select, and the
// top-k set gathered and sorted in shared memory. Included by the sampler's .cu only.
#pragma once

#include <cfloat>
#include <cub/block/block_scan.cuh>

#include "kernels/sampling_row.cuh"

namespace agentrt::kernels::sampling {

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
__device__ __noinline__ inline std::uint32_t radix_threshold(const float* row, int vocab,
                                                             float inv_t, float mx,
                                                             std::uint32_t min_key, float target,
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

// The top-k set without the radix select, for k <= kThreads. Passes that only count narrow
// a bracket of values below the k-th largest until at most kThreads elements lie above its
// low end (the first pass tries max - 0.5, - 1, ..., - 32 and the lowest finite value, later
// ones split the bracket evenly); those elements are gathered into shared memory and ranked
// by key, then lowest id. Ties at the k-th key are all kept; top-p (over the top-k set's
// mass), min-p (key at least min_key) and the draw then run on the sorted elements alone.

constexpr int kCountPivots = 8;
constexpr int kCountPasses = 6;

// counts[q] += the number of elements whose key is above pivots[q], for each of the
// kCountPivots pivots (both in shared memory). Every thread calls it; it ends synced.
template <int V>
__device__ __noinline__ void count_above(const float* row, int vocab, float inv_t,
                                         const std::uint32_t* pivots, int* counts) {
  std::uint32_t pivot[kCountPivots];
  int count[kCountPivots];
#pragma unroll
  for (int q = 0; q < kCountPivots; ++q) {
    pivot[q] = pivots[q];
    count[q] = 0;
  }
  for_each_element<V, 2>(row, vocab, [&](float x, int) {
    const std::uint32_t k = key_of(x * inv_t);
#pragma unroll
    for (int q = 0; q < kCountPivots; ++q)
      count[q] += k > pivot[q] ? 1 : 0;
  });
#pragma unroll
  for (int q = 0; q < kCountPivots; ++q) {
    const int c = __reduce_add_sync(0xffffffffu, count[q]);
    if (threadIdx.x % 32 == 0) atomicAdd(&counts[q], c);
  }
  __syncthreads();
}

// A draw from the top-k set of the row (scaled logits row * inv_t, maximum mx), cut further
// by top-p when by_mass and by min_key, with the uniform u01. -1 when the bracket does not
// narrow to kThreads elements in kCountPasses passes (crowded values): the caller then
// falls back to the radix select.
template <int V>
__device__ __noinline__ int top_k_draw(const float* row, int vocab, float inv_t, float mx, int k,
                                       bool by_mass, float top_p, std::uint32_t min_key,
                                       float u01) {
  __shared__ std::uint32_t pivots[kCountPivots];
  __shared__ int counts[kCountPivots];
  // lo: at least k elements above it (or below every finite element); hi: fewer than k.
  float lo = -FLT_MAX, hi = mx;
  int lo_count = -1;  // elements above lo, once a pass has counted them
  for (int pass = 0; pass < kCountPasses && (lo_count < 0 || lo_count > kThreads); ++pass) {
    __syncthreads();  // counts and pivots are read below until every thread is here
    if (threadIdx.x < kCountPivots) {
      const int q = static_cast<int>(threadIdx.x);
      const float v = pass > 0 ? hi - (hi - lo) * static_cast<float>(q + 1) /
                                          static_cast<float>(kCountPivots + 1)
                      : q + 1 < kCountPivots ? mx - ldexpf(0.5f, q)
                                             : -FLT_MAX;
      pivots[q] = key_of(v);
      counts[q] = 0;
    }
    __syncthreads();
    count_above<V>(row, vocab, inv_t, pivots, counts);
    // Pivots fall in value, so counts rise: the first to reach k is the new lo.
    int q = 0;
    while (q < kCountPivots && counts[q] < k)
      ++q;
    if (q == kCountPivots) {
      if (pass == 0) {  // fewer than k finite elements: all of them
        lo_count = counts[kCountPivots - 1];
        break;
      }
      hi = value_of(pivots[kCountPivots - 1]);
      continue;
    }
    if (q > 0) hi = value_of(pivots[q - 1]);
    lo = value_of(pivots[q]);
    lo_count = counts[q];
  }
  if (lo_count < 0 || lo_count > kThreads) return -1;

  // Gather the elements above lo, then sort them (key, then lowest id, first) by rank: at
  // most kThreads of them, a few hundred in practice, so each thread counts the items above
  // its own.
  using Scan = cub::BlockScan<float, kThreads>;
  __shared__ unsigned long long items[kThreads];
  __shared__ union {
    unsigned long long sorted[kThreads];
    typename Scan::TempStorage scan;  // once `sorted` is read
  } sm;
  __shared__ std::uint32_t keys[kThreads];  // sorted
  __shared__ int n, first, picked;
  const std::uint32_t lo_key = key_of(lo);
  if (threadIdx.x == 0) n = 0;
  __syncthreads();
  for_each_element<V, 2>(row, vocab, [&](float x, int i) {
    const std::uint32_t key = key_of(x * inv_t);
    if (key > lo_key) {
      const int slot = atomicAdd(&n, 1);
      if (slot < kThreads) {
        items[slot] = (static_cast<unsigned long long>(key) << 32) |
                      (0xffffffffu - static_cast<std::uint32_t>(i));
      }
    }
  });
  __syncthreads();
  const int count = min(n, kThreads);
  const bool real = static_cast<int>(threadIdx.x) < count;
  if (real) {
    const unsigned long long mine = items[threadIdx.x];
    int rank = 0;
    for (int j = 0; j < count; ++j)
      rank += items[j] > mine ? 1 : 0;
    sm.sorted[rank] = mine;  // items are distinct (ids are)
  }
  __syncthreads();
  const unsigned long long item = real ? sm.sorted[threadIdx.x] : 0ull;
  const auto key = static_cast<std::uint32_t>(item >> 32);
  const auto id = static_cast<int>(0xffffffffu - static_cast<std::uint32_t>(item));
  keys[threadIdx.x] = key;
  if (threadIdx.x == 0) {
    first = count;
    picked = -1;
  }
  __syncthreads();  // also: `sorted` is read before the scans reuse its memory
  if (count == 0) return -1;
  bool in = real && key >= keys[min(k, count) - 1];  // the top-k set, ties kept
  const float w = in ? __expf(value_of(key) - mx) : 0.0f;
  if (by_mass) {
    // The shortest prefix holding top_p of the set's mass, and the ties at its last key.
    float upto = 0.0f, total = 0.0f;
    Scan(sm.scan).InclusiveSum(w, upto, total);
    if (in && upto >= top_p * total) atomicMin(&first, static_cast<int>(threadIdx.x));
    __syncthreads();
    // None reached (rounding): the whole set.
    in = in && (first == count || key >= keys[first]);
  }
  in = in && key >= min_key;
  float before = 0.0f, total = 0.0f;
  __syncthreads();  // the scan's storage is reused
  Scan(sm.scan).ExclusiveSum(in ? w : 0.0f, before, total);
  const float u = u01 * total;
  if (in && u >= before && u < before + w) picked = id;
  __syncthreads();
  return picked;
}

}  // namespace agentrt::kernels::sampling
