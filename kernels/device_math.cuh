// Device helpers shared by the .cu files: element loads/stores for both storage types,
// unpacking 8 bf16, warp/block reductions and programmatic dependent launch.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <utility>

namespace agentrt::kernels {

__device__ __forceinline__ float to_f32(float v) {
  return v;
}
__device__ __forceinline__ float to_f32(__nv_bfloat16 v) {
  return __bfloat162float(v);
}

template <class T>
__device__ __forceinline__ T from_f32(float v);
template <>
__device__ __forceinline__ float from_f32<float>(float v) {
  return v;
}
template <>
__device__ __forceinline__ __nv_bfloat16 from_f32<__nv_bfloat16>(float v) {
  return __float2bfloat16_rn(v);
}

// The 8 bf16 of a 16-byte vector as floats.
__device__ __forceinline__ void unpack_bf16x8(const uint4& v, float (&f)[8]) {
  const auto* h = reinterpret_cast<const __nv_bfloat162*>(&v);
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const float2 x = __bfloat1622float2(h[i]);
    f[2 * i] = x.x;
    f[2 * i + 1] = x.y;
  }
}

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1)
    v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// Sum over the block (blockDim.x a multiple of 32, at most 1024); every thread gets it.
__device__ __forceinline__ float block_sum(float v) {
  __shared__ float partial[32];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  v = warp_sum(v);
  __syncthreads();  // partial may still be read by a previous call
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  const int warps = blockDim.x / 32;
  float t = lane < warps ? partial[lane] : 0.0f;
  return warp_sum(t);
}

// Programmatic dependent launch (Hopper; kernels launched with launch_pdl()). A kernel so
// launched may start while the kernel before it on the stream is still running: it must call
// pdl_wait() before it reads anything an earlier kernel wrote (the wait returns once that
// kernel has finished and its writes are visible), and may do independent work (weight
// loads) before. pdl_trigger() lets the next such kernel start launching now. No-ops for a
// kernel launched without the attribute.
__device__ __forceinline__ void pdl_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}
__device__ __forceinline__ void pdl_trigger() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}

namespace detail {
template <class... Params, class... Args>
cudaError_t launch_pdl(void (*kernel)(Params...), dim3 grid, const dim3* cluster, dim3 block,
                       std::size_t smem, cudaStream_t stream, Args&&... args) {
  cudaLaunchConfig_t cfg{};
  cfg.gridDim = grid;
  cfg.blockDim = block;
  cfg.dynamicSmemBytes = smem;
  cfg.stream = stream;
  cudaLaunchAttribute attr[2];
  attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attr[0].val.programmaticStreamSerializationAllowed = 1;
  cfg.numAttrs = 1;
  if (cluster) {
    attr[1].id = cudaLaunchAttributeClusterDimension;
    attr[1].val.clusterDim.x = cluster->x;
    attr[1].val.clusterDim.y = cluster->y;
    attr[1].val.clusterDim.z = cluster->z;
    cfg.numAttrs = 2;
  }
  cfg.attrs = attr;
  return cudaLaunchKernelEx(&cfg, kernel, static_cast<Params>(args)...);
}
}  // namespace detail

// Launches `kernel` on `stream` with programmatic stream serialization allowed (see pdl_wait)
// and `smem` bytes of dynamic shared memory.
template <class... Params, class... Args>
cudaError_t launch_pdl(void (*kernel)(Params...), dim3 grid, dim3 block, std::size_t smem,
                       cudaStream_t stream, Args&&... args) {
  return detail::launch_pdl(kernel, grid, nullptr, block, smem, stream,
                            std::forward<Args>(args)...);
}
// launch_pdl() in thread block clusters of `cluster` blocks (grid a multiple of it).
template <class... Params, class... Args>
cudaError_t launch_pdl_clustered(void (*kernel)(Params...), dim3 grid, dim3 cluster, dim3 block,
                                 std::size_t smem, cudaStream_t stream, Args&&... args) {
  return detail::launch_pdl(kernel, grid, &cluster, block, smem, stream,
                            std::forward<Args>(args)...);
}

}  // namespace agentrt::kernels
