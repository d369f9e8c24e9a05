// Launchers of the CUDA backend's element-wise kernels (embedding, RMSNorm with residual
// add, q/k/v preparation with bias, q/k norm and RoPE, SwiGLU, block copies, fills). Plain
// C++17 so that host files and .cu files share it. Every launcher enqueues on `stream` and
// returns the launch's cudaError_t; device pointers must be valid for the sizes stated.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace agentrt::kernels {

// Storage type of weights, KV and GEMM inputs. Residual stream and norms are always f32.
enum class Dtype : int { f32 = 0, bf16 = 1 };

inline std::size_t dtype_bytes(Dtype d) {
  return d == Dtype::f32 ? 4 : 2;
}

// KV pool layout, block-major so one block (every layer, K and V) is contiguous:
// [block][layer][K|V][kv_head][slot][head_dim].
struct KvLayout {
  void* pool = nullptr;  // Dtype elements
  int num_blocks = 0;
  int num_layers = 0;
  int num_kv_heads = 0;
  int block_size = 0;
  int head_dim = 0;
};

// x[r, :] = embed[tokens[r], :] as f32, for r in [0, rows). A negative token t is pending
// (engine/batch_plan.h's pending_token): the id is pending[-1 - t], sampled by the step
// before on the same stream. pending may be null when no token is negative.
cudaError_t launch_embed(Dtype dt, const void* embed, const std::int32_t* tokens,
                         const std::int32_t* pending, int rows, int hidden, float* x,
                         cudaStream_t stream);

struct AddNormParams {
  float* x = nullptr;           // [*, hidden] residual stream
  const float* y = nullptr;     // [*, hidden] added to x first; nullptr = nothing added
  const float* bias = nullptr;  // [hidden] added with y; nullptr = none
  const float* weight = nullptr;
  void* out = nullptr;                    // [rows, hidden] Dtype
  const std::int32_t* rows_of = nullptr;  // out row r reads x row rows_of[r]; nullptr = r
  bool write_back = true;                 // store x + y (+ bias) back into x
  int rows = 0;
  int hidden = 0;
  float eps = 1e-6f;
};
// x += y + bias; out = rmsnorm(x) * weight (the fused residual add and RMSNorm).
cudaError_t launch_add_rmsnorm(Dtype dt, const AddNormParams& p, cudaStream_t stream);

struct QkvParams {
  const void* qkv = nullptr;      // [rows, (heads + 2 kv_heads) * head_dim]: q, k, v
  Dtype qkv_dtype = Dtype::f32;   // f32, or the launch's Dtype
  const float* bias = nullptr;    // same width; nullptr = none (Qwen2 has one)
  const float* q_norm = nullptr;  // [head_dim]; nullptr = no q/k norm (Qwen3 has one)
  const float* k_norm = nullptr;
  const float* inv_freq = nullptr;          // [head_dim / 2], llama3 scaling already applied
  const std::int32_t* positions = nullptr;  // [rows]
  const std::int32_t* blocks = nullptr;     // [rows]: physical block of each row's position
  void* q_out = nullptr;                    // [rows, heads, head_dim] Dtype
  KvLayout kv;
  int layer = 0;
  int rows = 0;
  int num_heads = 0;
  float eps = 1e-6f;
};
// Adds the bias, applies q/k RMSNorm and RoPE (HF rotate_half layout), writes q to q_out and
// k, v into the paged pool at (blocks[r], positions[r] % block_size).
cudaError_t launch_qkv_prepare(Dtype dt, const QkvParams& p, cudaStream_t stream);

// out[r, i] = silu(gate_up[r, i]) * gate_up[r, inter + i]; gate_up and out are Dtype.
cudaError_t launch_swiglu(Dtype dt, const void* gate_up, int rows, int inter, void* out,
                          cudaStream_t stream);

// Copies whole blocks (bytes each) of the pool: pairs[2i] -> pairs[2i+1], i < count.
cudaError_t launch_copy_blocks(void* pool, std::size_t block_bytes, const std::int32_t* pairs,
                               int count, cudaStream_t stream);

// Deterministic uniform values in [-scale, scale] from (seed, index), as Dtype.
cudaError_t launch_fill_random(Dtype dt, void* dst, std::size_t count, std::uint64_t seed,
                               float scale, cudaStream_t stream);
// dst[i] = value for i < count (f32).
cudaError_t launch_fill_f32(float* dst, std::size_t count, float value, cudaStream_t stream);

}  // namespace agentrt::kernels
