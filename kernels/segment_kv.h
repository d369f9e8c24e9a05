// Launchers of the token-granular KV kernels that KvReuse::blend uses on the CUDA backend
// (issue 21): gathering a run of tokens' KV out of the paged pool, scattering it back at
// other positions with the keys re-rotated, the per-token deviation that CacheBlend
// selects recomputed tokens by, and KVCOMM's anchor offsets (the KV difference between two
// contexts, keys un-rotated to position 0). Plain C++17, as ops.h.
//
// Token-major layout of the copies ("token KV"): for each token, [layer][K|V][kv_head]
// [head_dim] in the pool's Dtype, the same order as the CPU backend's (in f32 there).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/ops.h"

namespace agentrt::kernels {

struct TokenKvParams {
  KvLayout kv;
  const std::int32_t* table = nullptr;  // the sequence's block table, on the device
  int begin = 0;                        // first position
  int count = 0;                        // tokens
  void* tokens = nullptr;               // [count][layer][2][kv_head][head_dim] Dtype
};

// tokens <- the pool's KV at positions [begin, begin + count) of `table`.
cudaError_t launch_gather_token_kv(Dtype dt, const TokenKvParams& p, cudaStream_t stream);

// The pool at positions [begin, begin + count) <- tokens, each key rotated by `delta`
// positions more (RoPE rotate_half layout, angle delta * inv_freq[i]); values copied.
cudaError_t launch_place_token_kv(Dtype dt, const TokenKvParams& p, const float* inv_freq,
                                  int delta, cudaStream_t stream);

// out[i] = squared L2 distance between token i's layer-`layer` K (rotated by delta) and V in
// `tokens` and those in the pool at position begin + i, summed over kv heads; f32.
// Here `tokens` holds that layer's slice only: [count][K|V][kv_head][head_dim].
// Deterministic (a fixed reduction order).
cudaError_t launch_token_kv_deviation(Dtype dt, const TokenKvParams& p, const float* inv_freq,
                                      int delta, int layer, float* out, cudaStream_t stream);

// Anchor offsets over the layers [first_layer, last_layer), f32, laid out as
// [count][layer - first_layer][K|V][kv_head][head_dim] (`tokens`, in Dtype, holds only those
// layers' slice of each token in the same order, unless tokens_all_layers).
struct TokenKvOffsetParams {
  const float* inv_freq = nullptr;  // [head_dim / 2]
  int first_layer = 0;
  int last_layer = 0;
  int source_begin = 0;            // tokens[i] was computed at source_begin + i
  float* offsets = nullptr;        // K: R(-(begin + i)) K_pool - R(-(source_begin + i)) K_tokens;
                                   // V: V_pool - V_tokens. nullptr: not written
  float* unrotated = nullptr;      // R(-(source_begin + i)) K_tokens and V_tokens; nullptr: not
                                   // written
  bool tokens_all_layers = false;  // `tokens` holds every layer of each token (the token KV
                                   // layout above), not only the slice; outputs are unchanged
};
cudaError_t launch_token_kv_offsets(Dtype dt, const TokenKvParams& p, const TokenKvOffsetParams& o,
                                    cudaStream_t stream);

// The pool at position begin + i += offsets[i] (the layout above): K += R(begin + i) dK,
// V += dV, in f32 and rounded to Dtype once. p.tokens is unused.
cudaError_t launch_add_token_kv_offsets(Dtype dt, const TokenKvParams& p, const float* inv_freq,
                                        int first_layer, int last_layer, const float* offsets,
                                        cudaStream_t stream);

}  // namespace agentrt::kernels
