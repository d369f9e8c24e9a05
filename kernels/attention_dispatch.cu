// Attention dispatch: the one place where runtime sizes become template parameters. Only
// the configurations in use are instantiated, for bf16 with head_dim 64 (Qwen2.5-0.5B,
// tiny-calc) and 128 (Llama-3.1-8B): tiles of 16 rows (decode) on the mma.sync kernel, one
// warp each, and tiles of kTallRows (prefill, cascade prefixes) on the wgmma kernel, two
// warpgroups each; every other case runs the generic kernel.
#include <cuda_bf16.h>

#include <cudaTypedefs.h>

#include "kernels/attention.h"
#include "kernels/attention_generic.cuh"
#include "kernels/attention_tc.cuh"
#include "kernels/attention_wg.cuh"

namespace agentrt::kernels {
namespace {

// Decode (16 rows): four warps split each 64-key tile, so a CTA has 128 threads copying
// and several CTAs share an SM; stages sized so that three (d128) or four (d64) CTAs fit.
struct DecodeConfig {
  static constexpr int kKeyTile = 64;
  static constexpr int kSplit = 4;
  template <int D>
  static constexpr int stages() {
    return D <= 64 ? 3 : 2;
  }
};
// Tall tiles: 128-key tiles, three deep, one CTA an SM at head_dim 128 (225 KiB of shared
// memory); 64-key tiles, three deep, two CTAs an SM at head_dim 64. At head_dim 128 the
// warpgroups of the TMA kernel run apart (ping-pong, which needs the third buffer): 8B
// prefill attention 2-3% faster, the cascade's prefix tiles 3-6% (H100, session 23); at
// head_dim 64 that was 4-11% slower, so they keep in step there.
template <int D>
constexpr int kTallKeys = D <= 64 ? 64 : 128;
template <int D>
constexpr int kTallStages = 3;
template <int D>
constexpr bool kTallPingPong = D >= 128;

template <int D>
struct Kernels {
  static constexpr int kDecodeSmem =
      tc::smem_bytes<D, DecodeConfig::kKeyTile, DecodeConfig::stages<D>(), DecodeConfig::kSplit>();
  static constexpr auto decode =
      tc::attention_tc_kernel<D, DecodeConfig::kKeyTile, DecodeConfig::stages<D>(),
                              DecodeConfig::kSplit>;
  static constexpr int kDecodeThreads = DecodeConfig::kSplit * 32;
  static constexpr int kTallSmem = wgattn::Config<D, kTallKeys<D>, kTallStages<D>>::kSmem;
  // K and V by bulk tensor copies (16-token blocks), or by cp.async from every thread.
  static constexpr auto tall_tma =
      wgattn::attention_wg_kernel<D, kTallKeys<D>, kTallStages<D>, true, kTallPingPong<D>>;
  static constexpr auto tall_copy =
      wgattn::attention_wg_kernel<D, kTallKeys<D>, kTallStages<D>, false, false>;
  static constexpr int kTallThreads = wgattn::Config<D, kTallKeys<D>, kTallStages<D>>::kThreads;
};

// Launches `kernel` over the n work items and, for split tiles, the combine of ROWS-row
// partials. The kernel is a template argument so that each one sets its shared-memory limit
// once.
template <int D, int ROWS, auto kernel>
cudaError_t run_tiles(int threads, int smem, const AttentionParams& p, const AttnWork* work, int n,
                      const AttnCombine* combine, int num_combine, float* part_o, float* part_lse,
                      cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  static const cudaError_t attr =
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem);
  if (attr != cudaSuccess) return attr;
  cudaError_t err = launch_pdl(kernel, n, threads, smem, stream, p, work, part_o, part_lse);
  if (err != cudaSuccess || num_combine == 0) return err;
  return launch_pdl(tc::combine_kernel<ROWS>, dim3(num_combine, ROWS), D, 0, stream, p, combine,
                    static_cast<const float*>(part_o), static_cast<const float*>(part_lse));
}

// The pool as [blocks * layers * 2 * kv_heads * block_size rows][head_dim] bf16 for bulk
// copies: boxes of one block's keys by 64 columns (128 bytes), 128-byte swizzled as the
// products read them. False when the driver lacks the encoder or the pool is too large for
// 32-bit row coordinates. The last encoding is kept per thread (the pool rarely changes).
// The driver's tensor-map encoder (nullptr when the driver lacks it), looked up once.
PFN_cuTensorMapEncodeTiled_v12000 tensor_map_encoder() {
  static const auto encode = [] {
    void* fn = nullptr;
    cudaDriverEntryPointQueryResult q{};
    if (cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &fn, 12000, cudaEnableDefault,
                                         &q) != cudaSuccess ||
        q != cudaDriverEntryPointSuccess) {
      fn = nullptr;
    }
    return reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(fn);
  }();
  return encode;
}

bool kv_tensor_map(const KvLayout& kv, CUtensorMap* map) {
  const auto encode = tensor_map_encoder();
  thread_local KvLayout last{};
  thread_local CUtensorMap last_map{};
  thread_local bool last_ok = false;
  if (last.pool == kv.pool && last.num_blocks == kv.num_blocks &&
      last.num_layers == kv.num_layers && last.num_kv_heads == kv.num_kv_heads &&
      last.block_size == kv.block_size && last.head_dim == kv.head_dim) {
    *map = last_map;
    return last_ok;
  }
  const auto rows =
      static_cast<cuuint64_t>(kv.num_blocks) * kv.num_layers * 2 * kv.num_kv_heads * kv.block_size;
  bool ok = encode != nullptr && rows <= 0x7fffffffu;
  if (ok) {
    const cuuint64_t dims[2] = {static_cast<cuuint64_t>(kv.head_dim), rows};
    const cuuint64_t strides[1] = {static_cast<cuuint64_t>(kv.head_dim) * 2};
    const cuuint32_t box[2] = {64, static_cast<cuuint32_t>(kv.block_size)};
    const cuuint32_t element_strides[2] = {1, 1};
    ok = encode(&last_map, CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, 2, kv.pool, dims, strides, box,
                element_strides, CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
                CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
                CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE) == CUDA_SUCCESS;
  }
  last = kv;
  last_ok = ok;
  *map = last_map;
  return ok;
}

template <int D>
cudaError_t run_tc_all(const AttentionParams& p_in, cudaStream_t stream) {
  using K = Kernels<D>;
  AttentionParams p = p_in;
  cudaError_t err = run_tiles<D, 16, K::decode>(K::kDecodeThreads, K::kDecodeSmem, p, p.work16,
                                                p.num_work16, p.combine16, p.num_combine16,
                                                p.partial_o16, p.partial_lse16, stream);
  if (err != cudaSuccess) return err;
  const bool tma = p.num_work_tall > 0 && p.kv.block_size == 16 && kv_tensor_map(p.kv, &p.kv_map);
  err = (tma ? run_tiles<D, kTallRows, K::tall_tma>
             : run_tiles<D, kTallRows, K::tall_copy>)(K::kTallThreads, K::kTallSmem, p, p.work_tall,
                                                      p.num_work_tall, p.combine_tall,
                                                      p.num_combine_tall, p.partial_o_tall,
                                                      p.partial_lse_tall, stream);
  if (err != cudaSuccess || p.num_cascade == 0) return err;
  const int group = p.num_heads / p.kv.num_kv_heads;
  return launch_pdl(tc::cascade_combine_kernel, dim3(p.num_cascade, group), D, 0, stream, p);
}

// CTAs of `kernel` resident on one SM at once.
template <class Kernel>
int ctas_per_sm(Kernel kernel, int threads, int smem) {
  int n = 0;
  if (cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem) !=
          cudaSuccess ||
      cudaOccupancyMaxActiveBlocksPerMultiprocessor(&n, kernel, threads, smem) != cudaSuccess) {
    return 0;
  }
  return n;
}
template <int D>
int decode_per_sm() {
  return ctas_per_sm(Kernels<D>::decode, Kernels<D>::kDecodeThreads, Kernels<D>::kDecodeSmem);
}
template <int D>
int tall_per_sm() {
  return ctas_per_sm(Kernels<D>::tall_tma, Kernels<D>::kTallThreads, Kernels<D>::kTallSmem);
}

}  // namespace

int attention_decode_slots(int sms, int head_dim) {
  static const int per_sm64 = decode_per_sm<64>();
  static const int per_sm128 = decode_per_sm<128>();
  if (head_dim == 64) return sms * per_sm64;
  if (head_dim == 128) return sms * per_sm128;
  return 0;
}

int attention_tall_slots(int sms, int head_dim) {
  // The backend asks before planning a cascade, the only tall tiles a CUDA graph captures:
  // the encoder is looked up here too, so that no capture makes the first lookup.
  static const bool resolved = tensor_map_encoder() != nullptr;
  (void)resolved;
  static const int per_sm64 = tall_per_sm<64>();
  static const int per_sm128 = tall_per_sm<128>();
  if (head_dim == 64) return sms * per_sm64;
  if (head_dim == 128) return sms * per_sm128;
  return 0;
}

bool attention_uses_tensor_cores(Dtype dtype, int head_dim) {
  return dtype == Dtype::bf16 && (head_dim == 64 || head_dim == 128);
}

cudaError_t launch_attention(const AttentionParams& p, cudaStream_t stream) {
  if (p.rows == 0) return cudaSuccess;
  if (p.kv.head_dim > 256 || p.num_heads % p.kv.num_kv_heads) return cudaErrorInvalidValue;
  if (attention_uses_tensor_cores(p.dtype, p.kv.head_dim)) {
    switch (p.kv.head_dim) {
      case 64:
        return run_tc_all<64>(p, stream);
      case 128:
        return run_tc_all<128>(p, stream);
      default:
        return cudaErrorInvalidValue;
    }
  }
  const int warps = 4;
  const int blocks = (p.rows * p.num_heads + warps - 1) / warps;
  if (p.dtype == Dtype::f32)
    generic::attention_kernel<float><<<blocks, warps * 32, 0, stream>>>(p);
  else
    generic::attention_kernel<__nv_bfloat16><<<blocks, warps * 32, 0, stream>>>(p);
  return cudaGetLastError();
}

}  // namespace agentrt::kernels
