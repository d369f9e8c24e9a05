// Paged causal attention over the KV pool (GQA, chunked prefill after a cached prefix,
// decode). The host plans the work split (attention_plan.cpp); attention_dispatch.cu runs
// it. Plain C++17: shared by host files and .cu files.
#pragma once

#include <cuda.h>  // CUtensorMap
#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

#include "kernels/ops.h"

namespace agentrt::kernels {

// A sequence's chunk in the step: rows [row0, row0 + count) at positions start_pos, ...;
// its block table is tables[table_offset, ...).
struct AttnChunk {
  std::int32_t row0 = 0;
  std::int32_t count = 0;
  std::int32_t start_pos = 0;
  std::int32_t table_offset = 0;
};

// One CTA of the tensor-core kernel: query rows [row_begin, row_begin + tile) of a chunk's
// (token, head-of-group) rows for one kv head, over keys [kv_begin, kv_end). partial >= 0:
// the result is one split of several, written to the partial buffers at that index.
struct AttnWork {
  std::int32_t chunk = 0;
  std::int32_t kv_head = 0;
  std::int32_t row_begin = 0;
  std::int32_t kv_begin = 0;
  std::int32_t kv_end = 0;
  std::int32_t partial = -1;
};

// Merges the splits partial [first, first + splits) of one tile into the output.
struct AttnCombine {
  std::int32_t chunk = 0;
  std::int32_t kv_head = 0;
  std::int32_t row_begin = 0;
  std::int32_t first = 0;
  std::int32_t splits = 0;
};

// Cascade decode: merges one forked sequence's attention over the prefix it shares with its
// group (prefix_splits partials of the kTallRows buffer, starting at row prefix_row of
// partial prefix_first) with its attention over its own keys (suffix_splits partials of the
// 16-row buffer from suffix_first). One entry per (sequence, kv head).
struct AttnCascade {
  std::int32_t chunk = 0;
  std::int32_t kv_head = 0;
  std::int32_t prefix_first = 0;
  std::int32_t prefix_splits = 0;
  std::int32_t prefix_row = 0;
  std::int32_t suffix_first = 0;
  std::int32_t suffix_splits = 0;
};

// Most partials one cascade merge reads (prefix splits plus own-key splits).
constexpr int kMaxCascadeSources = 64;

struct AttentionParams {
  Dtype dtype = Dtype::bf16;
  const void* q = nullptr;  // [rows, num_heads, head_dim]
  void* out = nullptr;      // [rows, num_heads, head_dim]
  KvLayout kv;
  int layer = 0;
  int num_heads = 0;
  float scale = 1.0f;
  const std::int32_t* tables = nullptr;  // flattened block tables
  const AttnChunk* chunks = nullptr;     // [num_chunks]
  int num_chunks = 0;
  const std::int32_t* row_chunk = nullptr;  // [rows]: chunk of each row (generic kernel)
  const std::int32_t* positions = nullptr;  // [rows] (generic kernel)
  int rows = 0;
  // Tensor-core path: work lists per tile height (16 rows: decode; kTallRows: prefill).
  const AttnWork* work16 = nullptr;
  int num_work16 = 0;
  const AttnWork* work_tall = nullptr;
  int num_work_tall = 0;
  const AttnCombine* combine16 = nullptr;
  int num_combine16 = 0;
  const AttnCombine* combine_tall = nullptr;
  int num_combine_tall = 0;
  const AttnCascade* cascade = nullptr;
  int num_cascade = 0;
  // Split results: [partials, tile rows, head_dim] and [partials, tile rows], per tile height.
  float* partial_o16 = nullptr;
  float* partial_lse16 = nullptr;
  float* partial_o_tall = nullptr;
  float* partial_lse_tall = nullptr;
  // The KV pool as a tensor for bulk copies (launch_attention fills it; callers leave it).
  CUtensorMap kv_map{};
};

// Query rows per tile of the prefill variant of the tensor-core kernel (8 warps); 16 rows
// (one warp) serve decodes and short chunks.
constexpr int kTallRows = 128;

// Whether head_dim and dtype run on the tensor-core kernel (else the generic one, which
// ignores the work lists).
bool attention_uses_tensor_cores(Dtype dtype, int head_dim);

// Host-side work plan for one layer shape; built once per step (every layer shares it).
struct AttentionPlan {
  std::vector<AttnWork> work16, work_tall;
  std::vector<AttnCombine> combine16, combine_tall;
  std::vector<AttnCascade> cascade;
  // Chunks the work items refer to past the step's own (index num_chunks + i): one per
  // shared prefix, its rows the group's decode rows, its keys the prefix.
  std::vector<AttnChunk> extra_chunks;
  int partials16 = 0;     // partial slots of 16 rows
  int partials_tall = 0;  // partial slots of kTallRows rows
};

// A run of decode chunks [first_chunk, first_chunk + seqs) (one token each, rows
// consecutive) whose block tables begin with the same prefix_len / block_size blocks: forked
// samples. Their attention over those keys runs once per step as a tall tile of all their
// rows (cascade decode) instead of once per sequence.
struct SharedPrefix {
  int first_chunk = 0;
  int seqs = 0;
  int prefix_len = 0;     // keys, whole blocks, each strictly before every member's position
  int prefix_splits = 0;  // key splits of each prefix tile; 0: enough to fill the device
};
// Fewest sequences and shared keys for which a cascade pays for its extra launches.
constexpr int kMinCascadeSeqs = 4;
constexpr int kMinCascadeKeys = 256;
// The runs of chunks worth a cascade (see SharedPrefix), for `group` query heads per kv
// head (none when group > 16, the decode tile). A run grows while the next chunk shares at
// least half the run's blocks so far, and at least kMinCascadeKeys keys.
std::vector<SharedPrefix> find_shared_prefixes(const std::vector<AttnChunk>& chunks,
                                               const std::vector<std::int32_t>& tables,
                                               int block_size, int group);

// CTAs worth aiming for on a device of `sms` multiprocessors: several per SM, so that the
// one-warp decode CTAs keep enough loads in flight.
inline int attention_target_ctas(int sms) {
  return 8 * sms;
}

// Splits every chunk into tiles and, when the tiles of one height alone would not fill the
// device (target_ctas, counted in one-warp CTAs: a tall tile counts as kTallRows / 16; the
// two heights run as separate launches), splits their long key ranges so that they do
// (flash-decoding). decode_slots > 0 (decode CTAs resident on the whole device,
// attention_decode_slots): when every tile is a 16-row tile and there are fewer tiles than
// slots, the split count is the one that minimizes the estimated time, waves of
// decode_slots CTAs times each CTA's key tiles plus a fixed cost, rather than the one that
// reaches target_ctas.
// Chunks of a `shared` run get cascade work instead: the prefix as kTallRows tiles whose
// rows are whole sequences, split over keys to fill the device, each sequence's own keys as
// a 16-row tile, and an AttnCascade merge per (sequence, kv head).
// Each work list runs longest key range first (stable otherwise), so that the longest CTAs
// do not form the kernel's last wave.
AttentionPlan plan_attention(const std::vector<AttnChunk>& chunks, int num_heads, int num_kv_heads,
                             int target_ctas, int decode_slots = 0,
                             const std::vector<SharedPrefix>& shared = {});
// Decode CTAs of the tensor-core kernel for head_dim that fit on one multiprocessor at once
// (shared memory and registers, from the CUDA occupancy API), times `sms`; 0 when head_dim
// has no tensor-core kernel or the query fails.
int attention_decode_slots(int sms, int head_dim);

// The same for the kTallRows (prefill and cascade-prefix) variant.
int attention_tall_slots(int sms, int head_dim);
// Key splits of each prefix tile of a cascade: the most that keep all its tiles' CTAs in one
// wave of `tall_slots` resident CTAs (several waves of short CTAs cost more than one of
// longer ones), at least kMinSplitKeys keys each, at least 1. The backend stores it in
// SharedPrefix::prefix_splits with attention_tall_slots(); when that is 0, plan_attention
// applies it with tall_slots = target_ctas / 4.
int cascade_prefix_splits(const SharedPrefix& sp, int group, int num_kv_heads, int tall_slots);

// Decode-only plan of a fixed shape, for CUDA graphs: every chunk (one token, group <= 16
// rows) gets `splits` work items per kv head, its keys cut into `splits` ranges of whole key
// tiles (ranges past its keys are empty), and one combine per tile when splits > 1. Only
// the ranges depend on the context lengths; the list sizes depend on the chunk count alone.
// Chunks of a `shared` run get plan_attention's cascade work instead (target_ctas sizes its
// prefix splits); the list sizes then depend on the runs too, and change only when a run's
// member count, prefix or own-key split count does.
AttentionPlan plan_attention_fixed(const std::vector<AttnChunk>& chunks, int num_kv_heads,
                                   int splits, const std::vector<SharedPrefix>& shared = {},
                                   int num_heads = 0, int target_ctas = 0);
// The split count with the least estimated time for `tiles` decode tiles of up to `longest`
// keys on `slots` resident CTAs (CTAs run in waves, each as long as its key tiles plus a
// fixed cost): plan_attention's rule for decode-only steps that underfill the device.
int decode_wave_splits(int tiles, int longest, int slots);
// Splits per (sequence, kv head) of the fixed plan for `batch` sequences: enough to reach
// target_ctas, at most kMaxFixedSplits.
constexpr int kMaxFixedSplits = 16;
inline int fixed_splits(int batch, int num_kv_heads, int target_ctas) {
  const int tiles = batch * num_kv_heads;
  const int s = (target_ctas + tiles - 1) / tiles;
  return s < 1 ? 1 : (s > kMaxFixedSplits ? kMaxFixedSplits : s);
}

// Runs the attention of one layer. Errors: cudaErrorInvalidValue for unsupported sizes.
cudaError_t launch_attention(const AttentionParams& p, cudaStream_t stream);

}  // namespace agentrt::kernels
