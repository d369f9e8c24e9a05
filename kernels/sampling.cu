// GPU sampling: one 1024-thread block per row, with no sort. A row is drawn by inverse CDF
// over the allowed tokens; top-k and top-p are then checked on the drawn token alone
// (rejection sampling, as FlashInfer's sorting-free samplers do): the token is kept when
// fewer than k tokens, or less than the top-p mass, lie strictly above it. Else every token
// at or below it is cut, and so is every token at or below the highest of a few pivots
// between it and the maximum that fails the same test, and the row is drawn again. A round
// is two coalesced passes over the row (16-byte loads when the vocabulary allows). After
// kSampleMaxRejections rounds the cut is found exactly by a 4-pass radix select over
// order-preserving 32-bit keys of the scaled logits, as is the top-k cut when top-k and
// top-p are both set (top-p's mass is then that of the top-k set).
#include <cub/block/block_scan.cuh>

#include "kernels/device_math.cuh"
#include "kernels/sampling.h"
#include "kernels/sampling_cut.cuh"
#include "kernels/sampling_row.cuh"

namespace agentrt::kernels {
namespace {

using namespace sampling;  // NOLINT: the sampler's own primitives

// Argmax over the row, ties to the lowest id; every thread gets it.
template <int V>
__device__ Best block_argmax(const float* row, int vocab) {
  Best b{-INFINITY, vocab};
  for_each_element<V, 4>(row, vocab, [&](float x, int i) { b = better(b, Best{x, i}); });
  return block_best(b);
}

// One pass for a sampled row: the argmax (returned to every thread) and this thread's mass
// sum exp((x - max) * inv_t) over its elements, kept with a running maximum (online softmax)
// and rescaled to the row's at the end.
template <int V>
__device__ Best argmax_and_mass(const float* row, int vocab, float inv_t, float* mass) {
  Best b{-INFINITY, vocab};
  float m = -INFINITY, s = 0.0f;
  for_each_element<V, 2>(row, vocab, [&](float x, int i) {
    b = better(b, Best{x, i});
    if (x > m) {
      s = s * __expf((m - x) * inv_t) + 1.0f;
      m = x;
    } else if (x > -INFINITY) {
      s += __expf((x - m) * inv_t);
    }
  });
  b = block_best(b);
  *mass = m > -INFINITY ? s * __expf((m - b.v) * inv_t) : 0.0f;
  return b;
}

// This thread's mass of allowed elements.
template <int V>
__device__ float thread_mass(const float* row, int vocab, float inv_t, float mx,
                             std::uint32_t floor) {
  float s = 0.0f;
  for_each_element<V, 4>(row, vocab, [&](float x, int) { s += weight(x * inv_t, mx, floor); });
  return s;
}

// Inverse-CDF draw of one allowed element with weight(), the elements taken thread by thread
// (thread t's groups in order, then thread t + 1's), `mass` this thread's allowed mass and
// u01 the uniform. A block scan finds the thread whose mass holds the draw; one warp then
// walks that thread's groups 32 at a time. `fallback` (an allowed element) when rounding
// leaves the draw at the very end.
template <int V>
__device__ __noinline__ int draw(const float* row, int vocab, float inv_t, float mx,
                                 std::uint32_t floor, float mass, float u01, int fallback) {
  using Scan = cub::BlockScan<float, kThreads>;
  __shared__ typename Scan::TempStorage scan_storage;
  __shared__ int owner;
  __shared__ float owner_u;
  __shared__ int picked;
  if (threadIdx.x == 0) owner = -1;
  float prefix = 0.0f, total = 0.0f;
  Scan(scan_storage).ExclusiveSum(mass, prefix, total);  // syncs: owner is set before
  const float u = u01 * total;
  if (mass > 0.0f && u >= prefix && u < prefix + mass) {
    owner = static_cast<int>(threadIdx.x);
    owner_u = u - prefix;
  }
  __syncthreads();
  if (threadIdx.x < 32) {
    const int lane = static_cast<int>(threadIdx.x), t = owner, groups = vocab / V;
    int found = -1, last = -1;
    float cum = 0.0f;
    for (int j = 0; t >= 0 && t + j * kThreads < groups; j += 32) {
      const int g = t + (j + lane) * kThreads;
      float w[V] = {};
      float sum = 0.0f;
      if (g < groups) {
        float x[V];
        load_group<V>(row, g, x);
#pragma unroll
        for (int e = 0; e < V; ++e)
          sum += (w[e] = weight(x[e] * inv_t, mx, floor));
      }
      const float incl = warp_inclusive_sum(sum);
      const std::uint32_t hit = __ballot_sync(0xffffffffu, sum > 0.0f && cum + incl > owner_u);
      if (hit != 0) {
        const int l = __ffs(static_cast<int>(hit)) - 1;
        if (lane == l) {
          float c = cum + incl - sum;
          found = -1;
#pragma unroll
          for (int e = 0; e < V; ++e) {
            if (w[e] > 0.0f) {
              found = g * V + e;  // the last allowed one if rounding never reaches the draw
              c += w[e];
              if (c > owner_u) break;
            }
          }
        }
        found = __shfl_sync(0xffffffffu, found, l);
        break;
      }
      const std::uint32_t any = __ballot_sync(0xffffffffu, sum > 0.0f);
      if (any != 0) {
        const int l = 31 - __clz(static_cast<int>(any));
        int mine = -1;
#pragma unroll
        for (int e = 0; e < V; ++e)
          if (w[e] > 0.0f) mine = g * V + e;
        last = __shfl_sync(0xffffffffu, mine, l);
      }
      cum += __shfl_sync(0xffffffffu, incl, 31);
    }
    if (lane == 0) picked = found >= 0 ? found : (last >= 0 ? last : fallback);
  }
  __syncthreads();
  return picked;
}

// What one pass learns about a drawn element of scaled logit xt: whether it survives the cuts
// (fewer than k_limit elements, when k_limit > 0, and, when by_mass, less than `target` mass
// or nothing at all strictly above it), and if not, a new floor. Besides xt the pass counts
// above kPivots pivots evenly spaced between xt and the maximum mx: every element at or below
// the highest pivot that fails is cut too, so a round narrows the allowed values at least
// kPivots + 1 times once the cut lies above the draw.
constexpr int kPivots = 4;
struct Verdict {
  bool keep;
  std::uint32_t floor;
};
template <int V>
__device__ __noinline__ Verdict judge(const float* row, int vocab, float inv_t, float mx, float xt,
                                      int k_limit, bool by_mass, float target) {
  constexpr int P = kPivots + 1;
  std::uint32_t pivot[P];
#pragma unroll
  for (int q = 0; q < P; ++q)
    pivot[q] = key_of(q == 0 ? xt : xt + (mx - xt) * static_cast<float>(q) / P);
  float count[P] = {}, mass[P] = {};
  for_each_element<V, 2>(row, vocab, [&](float x, int) {
    const float xs = x * inv_t;
    const std::uint32_t k = key_of(xs);
    const float w = by_mass ? __expf(xs - mx) : 0.0f;
#pragma unroll
    for (int q = 0; q < P; ++q) {
      if (k > pivot[q]) {
        count[q] += 1.0f;
        mass[q] += w;
      }
    }
  });
  __shared__ float partial[kThreads / 32][2 * P];
  __shared__ float sums[2 * P];
  const int lane = static_cast<int>(threadIdx.x % 32), warp = static_cast<int>(threadIdx.x / 32);
#pragma unroll
  for (int q = 0; q < P; ++q) {
    count[q] = warp_sum(count[q]);
    mass[q] = warp_sum(mass[q]);
  }
  if (lane == 0) {
#pragma unroll
    for (int q = 0; q < P; ++q) {
      partial[warp][q] = count[q];
      partial[warp][P + q] = mass[q];
    }
  }
  __syncthreads();
  if (threadIdx.x < 2 * P) {
    float t = 0.0f;
    for (int w = 0; w < kThreads / 32; ++w)
      t += partial[w][threadIdx.x];
    sums[threadIdx.x] = t;
  }
  __syncthreads();
  Verdict v{true, 0};
  for (int q = 0; q < P; ++q) {
    const float c = sums[q], m = sums[P + q];
    const bool fails =
        (k_limit > 0 && c >= static_cast<float>(k_limit)) || (by_mass && m >= target && c > 0.0f);
    if (!fails) break;  // counts and masses only fall as the pivot rises
    if (q == 0) v.keep = false;
    v.floor = pivot[q] + 1;
  }
  __syncthreads();  // sums and partial are reused by the next call
  return v;
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

template <int V>
__global__ void __launch_bounds__(kThreads)
    sample_kernel(const float* logits, int vocab, const SampleParams* params, std::int32_t* out,
                  float* logprobs, int max_rejections) {
  const SampleParams p = params[blockIdx.x];
  const float* row = logits + static_cast<std::size_t>(blockIdx.x) * vocab;
  if (p.temperature == 0.0f) {
    const Best top = block_argmax<V>(row, vocab);
    return emit(row, vocab, top.v, top.i, out, logprobs);
  }
  const float inv_t = 1.0f / p.temperature;
  float mass = 0.0f;  // this thread's mass of the allowed elements (every one, for now)
  const Best top = argmax_and_mass<V>(row, vocab, inv_t, &mass);
  const float mx = top.v * inv_t;  // the scaled maximum (scaling by 1/T > 0 keeps the argmax)
  const bool by_count = p.top_k > 0 && p.top_k < vocab, by_mass = p.top_p < 1.0f;
  const std::uint32_t min_key = p.min_p > 0.0f ? key_of(mx + logf(p.min_p)) : 0u;
  if (by_count && p.top_k <= kThreads) {
    const int t = top_k_draw<V>(row, vocab, inv_t, mx, p.top_k, by_mass, p.top_p, min_key,
                                static_cast<float>(uniform01(p.seed, p.step, 0)));
    if (t >= 0) return emit(row, vocab, top.v, t, out, logprobs);
  }
  // Allowed: key at least `floor`. With both top-k and top-p, the top-k cut is exact.
  std::uint32_t floor = 0;
  if (by_count && by_mass)
    floor = radix_threshold(row, vocab, inv_t, mx, 0, static_cast<float>(p.top_k), false);
  float target = 0.0f;
  if (by_mass)
    target = p.top_p * block_sum(floor == 0 ? mass : thread_mass<V>(row, vocab, inv_t, mx, floor));
  const int k_limit = by_count && !by_mass ? p.top_k : 0;
  bool fresh = floor == 0;  // `mass` is still that of the allowed elements
  int token = -1;
  for (int r = 0; r <= max_rejections; ++r) {
    if (!fresh) mass = thread_mass<V>(row, vocab, inv_t, mx, floor);
    fresh = false;
    const int t = draw<V>(row, vocab, inv_t, mx, floor, mass,
                          static_cast<float>(uniform01(p.seed, p.step, r)), top.i);
    const float xt = row[t] * inv_t;
    const std::uint32_t kt = key_of(xt);
    if (kt < min_key) {
      floor = max(floor, min_key);  // below min-p: drawn from the whole row, now cut
      continue;
    }
    if (k_limit == 0 && !by_mass) {
      token = t;
      break;
    }
    const Verdict v = judge<V>(row, vocab, inv_t, mx, xt, k_limit, by_mass, target);
    if (v.keep) {
      token = t;
      break;
    }
    floor = max(floor, v.floor);
  }
  if (token < 0) {
    // Too many rounds: the exact cut by radix select, then one draw above it.
    std::uint32_t cut = 0;
    if (by_count)
      cut = radix_threshold(row, vocab, inv_t, mx, 0, static_cast<float>(p.top_k), false);
    if (by_mass) cut = max(cut, radix_threshold(row, vocab, inv_t, mx, cut, target, true));
    cut = max(cut, min_key);
    mass = thread_mass<V>(row, vocab, inv_t, mx, cut);
    token = draw<V>(row, vocab, inv_t, mx, cut, mass,
                    static_cast<float>(uniform01(p.seed, p.step, max_rejections + 1)), top.i);
  }
  emit(row, vocab, top.v, token, out, logprobs);
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
                          std::int32_t* tokens, float* logprobs, cudaStream_t stream,
                          int max_rejections) {
  if (vocab < 1 || max_rejections < 0) return cudaErrorInvalidValue;
  if (rows == 0) return cudaSuccess;
  // 16-byte loads when every row starts 16-byte aligned.
  if (vocab % 4 == 0 && reinterpret_cast<std::uintptr_t>(logits) % 16 == 0) {
    sample_kernel<4>
        <<<rows, kThreads, 0, stream>>>(logits, vocab, params, tokens, logprobs, max_rejections);
  } else {
    sample_kernel<1>
        <<<rows, kThreads, 0, stream>>>(logits, vocab, params, tokens, logprobs, max_rejections);
  }
  return cudaGetLastError();
}

}  // namespace agentrt::kernels
