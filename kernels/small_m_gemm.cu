// Small-M GEMM: W streamed into mma.sync fragments, A through shared memory, k split over a
// cluster whose blocks add their partial products through distributed shared memory.
#include <cooperative_groups.h>
#include <cuda_bf16.h>

#include <cstdint>

#include "kernels/device_math.cuh"
#include "kernels/mma.cuh"
#include "kernels/small_m_gemm.h"

namespace agentrt::kernels {
namespace {

namespace cg = cooperative_groups;
using bf16 = __nv_bfloat16;

constexpr int kWarps = 8;
constexpr int kThreads = kWarps * 32;
constexpr int kTileN = 16 * kWarps;   // rows of W (columns of C) a block
constexpr int kChunk = kSmallMChunk;  // k a pipeline stage
constexpr int kStages = 3;
// A's rows in shared memory lie 320 bytes apart (64 mod 128), so the 8 lanes of a
// fragment-load phase (two rows, 64 bytes of each) hit distinct banks.
constexpr int kRowStride = kChunk + 32;
constexpr int kMaxSplits = 8;  // the portable cluster size

// k order inside a chunk: lane (g, t) = (lane / 4, lane % 4) loads k = 32 j + 8 t .. + 7 of
// step j from each of its two W rows (16 contiguous bytes), which feed two m16n8k16 products
// as the fragment's k = {2t, 2t + 1, 2t + 8, 2t + 9}. A's fragments are read with the same
// permutation, so each product sums over the same pairs of k.
__device__ __forceinline__ int plain_row(int tile, int local, int n) {
  return min(tile * kTileN + local, n - 1);  // past the end: the last row again, not stored
}
// Gated (SwiGLU) blocks stream gate rows j0 .. j0 + 63 (warps 0-3) and the matching up rows
// inter + j0 .. (warps 4-7), so one block holds both factors of its 64 outputs.
__device__ __forceinline__ int gated_row(int tile, int local, int inter) {
  constexpr int kHalf = kTileN / 2;
  const int j = min(tile * kHalf + local % kHalf, inter - 1);
  return local < kHalf ? j : inter + j;
}

template <int MT>
constexpr int smem_bytes() {
  constexpr int ring = kStages * 8 * MT * kRowStride * 2;
  constexpr int partial = 8 * MT * kTileN * 4;  // after the loop, over the ring
  return ring > partial ? ring : partial;
}

// After the k loop (the block's shared memory no longer read): the splits of the tile add
// their partial products through distributed shared memory, in rank (k) order, and write C
// (or the SwiGLU output), each block its share of the tile's columns.
template <int MT, class OutT, bool kGated>
__device__ __forceinline__ void finish_tile(const float (&acc)[MT][4], unsigned char* smem, OutT* c,
                                            int ldc, int m, int n, float beta) {
  const int warp = static_cast<int>(threadIdx.x) / 32, lane = static_cast<int>(threadIdx.x) % 32;
  const int g = lane / 4, t = lane % 4;
  const int tile = static_cast<int>(blockIdx.x), splits = static_cast<int>(gridDim.y);
  float* part = reinterpret_cast<float*>(smem);  // [kRows][kTileN]
#pragma unroll
  for (int mt = 0; mt < MT; ++mt) {
    const int r = mt * 8 + 2 * t, col = warp * 16 + g;
    part[r * kTileN + col] = acc[mt][0];
    part[(r + 1) * kTileN + col] = acc[mt][1];
    part[r * kTileN + col + 8] = acc[mt][2];
    part[(r + 1) * kTileN + col + 8] = acc[mt][3];
  }
  cg::cluster_group cluster = cg::this_cluster();
  cluster.sync();
  // Block `rank` finishes its share of the tile's columns, adding the splits' partial
  // products in rank (k) order.
  const int rank = static_cast<int>(cluster.block_rank());
  const auto sum = [&](int idx) {
    float v = 0.0f;
    for (int q = 0; q < splits; ++q)
      v += cluster.map_shared_rank(part, q)[idx];
    return v;
  };
  if constexpr (!kGated) {
    const int cols = kTileN / splits;
    for (int i = static_cast<int>(threadIdx.x); i < m * cols; i += kThreads) {
      const int r = i / cols, l = rank * cols + i % cols, col = tile * kTileN + l;
      if (col >= n) continue;
      float v = sum(r * kTileN + l);
      OutT* out = c + static_cast<std::size_t>(r) * ldc + col;
      if (beta != 0.0f) v += beta * to_f32(*out);
      *out = from_f32<OutT>(v);
    }
  } else {
    constexpr int kHalf = kTileN / 2;
    const int cols = kHalf / splits;
    for (int i = static_cast<int>(threadIdx.x); i < m * cols; i += kThreads) {
      const int r = i / cols, l = rank * cols + i % cols, j = tile * kHalf + l;
      if (j >= n) continue;
      const float gate = sum(r * kTileN + l), up = sum(r * kTileN + kHalf + l);
      c[static_cast<std::size_t>(r) * ldc + j] = from_f32<OutT>(gate / (1.0f + expf(-gate)) * up);
    }
  }
  cluster.sync();  // the other blocks have read this block's partial product
}

// Grid (tiles, splits), clusters of (1, splits): block (tile, s) multiplies its 128 rows of W
// (64 gated outputs) by A over the s-th share of k's chunks. n: C's columns, or inter when
// gated (c is then the bf16 [m, ldc] SwiGLU output).
template <int MT, class OutT, bool kGated>
__global__ void __launch_bounds__(kThreads, 2)
    small_m_kernel(const bf16* __restrict__ a, int lda, const bf16* __restrict__ w, OutT* c,
                   int ldc, int m, int n, int k, float beta) {
  constexpr int kRows = 8 * MT;
  extern __shared__ __align__(16) unsigned char smem[];
  bf16* ring = reinterpret_cast<bf16*>(smem);
  const int warp = static_cast<int>(threadIdx.x) / 32, lane = static_cast<int>(threadIdx.x) % 32;
  const int g = lane / 4, t = lane % 4;
  const int tile = static_cast<int>(blockIdx.x), splits = static_cast<int>(gridDim.y);
  const int chunks = k / kChunk;
  const int c_begin = static_cast<int>(blockIdx.y) * chunks / splits;
  const int c_end = (static_cast<int>(blockIdx.y) + 1) * chunks / splits;

  const bf16* w_row[2];
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    const int local = warp * 16 + g + 8 * h;
    const int r = kGated ? gated_row(tile, local, n) : plain_row(tile, local, n);
    w_row[h] = w + static_cast<std::size_t>(r) * k + 8 * t;
  }
  uint4 wcur[2][4], wnext[2][4];
  const auto load_w = [&](int ch, uint4(&r)[2][4]) {
#pragma unroll
    for (int h = 0; h < 2; ++h)
#pragma unroll
      for (int j = 0; j < 4; ++j)
        r[h][j] = __ldcs(reinterpret_cast<const uint4*>(w_row[h] + ch * kChunk + 32 * j));
  };
  // One cp.async group per call (empty past the end, so the waits count uniformly); rows of
  // A at or past m are zero-filled.
  const auto load_a = [&](int ch, int stage) {
    if (ch < c_end) {
      bf16* dst = ring + stage * kRows * kRowStride;
      for (int i = static_cast<int>(threadIdx.x); i < kRows * (kChunk / 8); i += kThreads) {
        const int r = i / (kChunk / 8), col = (i % (kChunk / 8)) * 8;
        const bool valid = r < m;
        tc::cp_async16(tc::smem_addr(dst + r * kRowStride + col),
                       a + static_cast<std::size_t>(valid ? r : 0) * lda + ch * kChunk + col,
                       valid);
      }
    }
    tc::cp_async_commit();
  };

  float acc[MT][4];
#pragma unroll
  for (int mt = 0; mt < MT; ++mt)
#pragma unroll
    for (int e = 0; e < 4; ++e)
      acc[mt][e] = 0.0f;
  // W does not depend on the kernel before (launched with PDL): its first chunk is in flight
  // before waiting for that kernel's A and C.
  if (c_begin < c_end) load_w(c_begin, wcur);
  pdl_wait();
  load_a(c_begin, 0);
  load_a(c_begin + 1, 1);
  for (int ch = c_begin, i = 0; ch < c_end; ++ch, ++i) {
    if (ch + 1 < c_end) load_w(ch + 1, wnext);
    tc::cp_async_wait<1>();  // this chunk of A has landed ...
    __syncthreads();         // ... for every thread, and the stage refilled below is consumed
    load_a(ch + 2, (i + 2) % kStages);
    const bf16* st = ring + (i % kStages) * kRows * kRowStride + g * kRowStride + 8 * t;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const std::uint32_t lo[4] = {wcur[0][j].x, wcur[1][j].x, wcur[0][j].y, wcur[1][j].y};
      const std::uint32_t hi[4] = {wcur[0][j].z, wcur[1][j].z, wcur[0][j].w, wcur[1][j].w};
#pragma unroll
      for (int mt = 0; mt < MT; ++mt) {
        const uint4 b = *reinterpret_cast<const uint4*>(st + mt * 8 * kRowStride + 32 * j);
        tc::mma(acc[mt], lo, b.x, b.y);
        tc::mma(acc[mt], hi, b.z, b.w);
      }
    }
#pragma unroll
    for (int h = 0; h < 2; ++h)
#pragma unroll
      for (int j = 0; j < 4; ++j)
        wcur[h][j] = wnext[h][j];
  }
  pdl_trigger();  // W is read: the next kernel may start launching
  tc::cp_async_wait<0>();
  __syncthreads();  // the ring is no longer read: it becomes this block's partial C^T

  finish_tile<MT, OutT, kGated>(acc, smem, c, ldc, m, n, beta);
}

int sm_count() {
  static const int count = [] {
    int device = 0, v = 132;
    if (cudaGetDevice(&device) == cudaSuccess)
      cudaDeviceGetAttribute(&v, cudaDevAttrMultiProcessorCount, device);
    return v;
  }();
  return count;
}

// Splits of k: doubled while the grid is under two blocks an SM and every split keeps a
// chunk.
int choose_splits(int tiles, int chunks) {
  int s = 1;
  while (s < kMaxSplits && tiles * s < 2 * sm_count() && 2 * s <= chunks)
    s *= 2;
  return s;
}

template <int MT, class OutT, bool kGated>
cudaError_t launch_mt(const bf16* a, int lda, const bf16* w, OutT* c, int ldc, int m, int n, int k,
                      float beta, int splits, cudaStream_t stream) {
  constexpr int kSmem = smem_bytes<MT>();
  const auto kernel = small_m_kernel<MT, OutT, kGated>;
  static const cudaError_t configured =
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, kSmem);
  if (configured != cudaSuccess) return configured;
  const int tiles = kGated ? (n + kTileN / 2 - 1) / (kTileN / 2) : (n + kTileN - 1) / kTileN;
  if (splits == 0) splits = choose_splits(tiles, k / kChunk);
  return launch_pdl_clustered(kernel, dim3(tiles, splits), dim3(1, splits), dim3(kThreads), kSmem,
                              stream, a, lda, w, c, ldc, m, n, k, beta);
}

template <class OutT, bool kGated>
cudaError_t launch_rows(const void* a, int lda, const void* w, OutT* c, int ldc, int m, int n,
                        int k, float beta, int splits, cudaStream_t stream) {
  if (splits != 0 &&
      (splits > kMaxSplits || (splits & (splits - 1)) != 0 || splits > k / kChunk || splits < 0))
    return cudaErrorInvalidValue;
  const auto* A = static_cast<const bf16*>(a);
  const auto* W = static_cast<const bf16*>(w);
  if (m <= 8) return launch_mt<1, OutT, kGated>(A, lda, W, c, ldc, m, n, k, beta, splits, stream);
  if (m <= 16) return launch_mt<2, OutT, kGated>(A, lda, W, c, ldc, m, n, k, beta, splits, stream);
  return launch_mt<4, OutT, kGated>(A, lda, W, c, ldc, m, n, k, beta, splits, stream);
}

bool aligned16(const void* p) {
  return reinterpret_cast<std::uintptr_t>(p) % 16 == 0;
}

}  // namespace

bool small_m_gemm_fits(Dtype in, int m, int k, int lda, const void* a, const void* w) {
  return in == Dtype::bf16 && m >= kSmallMMinRows && m <= kSmallMMaxRows && k > 0 &&
         k % kSmallMChunk == 0 && lda >= k && lda % 8 == 0 && aligned16(a) && aligned16(w);
}

cudaError_t launch_small_m_gemm(Dtype out, const void* a, int lda, const void* w, void* c, int ldc,
                                int m, int n, int k, float beta, cudaStream_t stream, int splits) {
  if (!small_m_gemm_fits(Dtype::bf16, m, k, lda, a, w) || n <= 0) return cudaErrorInvalidValue;
  if (out == Dtype::f32) {
    return launch_rows<float, false>(a, lda, w, static_cast<float*>(c), ldc, m, n, k, beta, splits,
                                     stream);
  }
  return launch_rows<bf16, false>(a, lda, w, static_cast<bf16*>(c), ldc, m, n, k, beta, splits,
                                  stream);
}

cudaError_t launch_small_m_swiglu(const void* a, int lda, const void* w_gate_up, void* out, int m,
                                  int inter, int k, cudaStream_t stream, int splits) {
  if (!small_m_gemm_fits(Dtype::bf16, m, k, lda, a, w_gate_up) || inter <= 0)
    return cudaErrorInvalidValue;
  return launch_rows<bf16, true>(a, lda, w_gate_up, static_cast<bf16*>(out), inter, m, inter, k,
                                 0.0f, splits, stream);
}

}  // namespace agentrt::kernels
