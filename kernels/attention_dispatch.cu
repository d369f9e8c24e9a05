// Attention dispatch: the one place where runtime sizes become template parameters. Only
// the configurations in use are instantiated: the tensor-core kernel for bf16 with
// head_dim 64 (Qwen2.5-0.5B, tiny-calc) and 128 (Llama-3.1-8B), in tiles of 16 rows
// (decode, one warp) and kTallRows (prefill, eight warps); every other case runs the generic
// kernel.
#include <cuda_bf16.h>

#include "kernels/attention.h"
#include "kernels/attention_generic.cuh"
#include "kernels/attention_tc.cuh"

namespace agentrt::kernels {
namespace {

// Decode (16 rows): four warps split each 64-key tile, so a CTA has 128 threads copying
// and several CTAs share an SM; stages sized so that three (d128) or four (d64) CTAs fit.
// Prefill (eight warps of 16 rows): 64-key tiles, double-buffered; the warps share each tile.
template <int D, int WARPS>
struct TcConfig {
  static constexpr int kKeyTile = 64;
  static constexpr int kSplit = WARPS == 1 ? 4 : 1;
  static constexpr int kStages = WARPS == 1 && D <= 64 ? 3 : 2;
};

template <int D, int WARPS>
cudaError_t run_tc(const AttentionParams& p, const AttnWork* work, int n,
                   const AttnCombine* combine, int num_combine, float* part_o, float* part_lse,
                   cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  using C = TcConfig<D, WARPS>;
  constexpr int kQRows = tc::q_in_smem<WARPS>() ? 16 * WARPS : 0;
  constexpr int kSmem = tc::smem_bytes<D, C::kKeyTile, C::kStages, C::kSplit, kQRows>();
  auto* kernel = tc::attention_tc_kernel<D, WARPS, C::kKeyTile, C::kStages, C::kSplit>;
  static const cudaError_t attr =
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, kSmem);
  if (attr != cudaSuccess) return attr;
  cudaError_t err =
      launch_pdl(kernel, n, WARPS * C::kSplit * 32, kSmem, stream, p, work, part_o, part_lse);
  if (err != cudaSuccess || num_combine == 0) return err;
  return launch_pdl(tc::combine_kernel<16 * WARPS>, dim3(num_combine, 16 * WARPS), D, 0, stream, p,
                    combine, static_cast<const float*>(part_o),
                    static_cast<const float*>(part_lse));
}

template <int D>
cudaError_t run_tc_all(const AttentionParams& p, cudaStream_t stream) {
  cudaError_t err = run_tc<D, 1>(p, p.work16, p.num_work16, p.combine16, p.num_combine16,
                                 p.partial_o16, p.partial_lse16, stream);
  if (err != cudaSuccess) return err;
  err = run_tc<D, kTallRows / 16>(p, p.work_tall, p.num_work_tall, p.combine_tall,
                                  p.num_combine_tall, p.partial_o_tall, p.partial_lse_tall, stream);
  if (err != cudaSuccess || p.num_cascade == 0) return err;
  const int group = p.num_heads / p.kv.num_kv_heads;
  return launch_pdl(tc::cascade_combine_kernel, dim3(p.num_cascade, group), D, 0, stream, p);
}

// CTAs of the WARPS-warp tensor-core kernel for head_dim D resident on one SM at once.
template <int D, int WARPS>
int ctas_per_sm() {
  using C = TcConfig<D, WARPS>;
  constexpr int kQRows = tc::q_in_smem<WARPS>() ? 16 * WARPS : 0;
  constexpr int kSmem = tc::smem_bytes<D, C::kKeyTile, C::kStages, C::kSplit, kQRows>();
  auto* kernel = tc::attention_tc_kernel<D, WARPS, C::kKeyTile, C::kStages, C::kSplit>;
  int n = 0;
  if (cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, kSmem) !=
          cudaSuccess ||
      cudaOccupancyMaxActiveBlocksPerMultiprocessor(&n, kernel, WARPS * C::kSplit * 32, kSmem) !=
          cudaSuccess) {
    return 0;
  }
  return n;
}

}  // namespace

int attention_decode_slots(int sms, int head_dim) {
  static const int per_sm64 = ctas_per_sm<64, 1>();
  static const int per_sm128 = ctas_per_sm<128, 1>();
  if (head_dim == 64) return sms * per_sm64;
  if (head_dim == 128) return sms * per_sm128;
  return 0;
}

int attention_tall_slots(int sms, int head_dim) {
  static const int per_sm64 = ctas_per_sm<64, kTallRows / 16>();
  static const int per_sm128 = ctas_per_sm<128, kTallRows / 16>();
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
