// CudaBackend: the NVIDIA Backend (sm_90a). Weights and the paged KV pool live on the
// device in the storage dtype (bf16 for serving; f32 as the reference precision that the
// golden tests hold to transformers' float32); GEMMs run through cuBLASLt with f32
// accumulation; the residual stream, norms and softmax are f32. One thread drives it, as
// every Backend; all device work runs on the backend's stream, block swaps on a second one.
#pragma once

#include <cuda_runtime.h>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/backend.h"
#include "engine/model/model.h"
#include "kernels/attention.h"
#include "kernels/device_buffer.h"
#include "kernels/device_segment_cache.h"
#include "kernels/gemm.h"
#include "kernels/kernel_timer.h"
#include "kernels/ops.h"
#include "kernels/sampling.h"
#include "kernels/segment_kv.h"

namespace agentrt::kernels {

struct CudaBackendOptions {
  int num_blocks = 256;
  int block_size = 16;
  Dtype dtype = Dtype::bf16;
  int device = 0;
  // Decode-only steps (one token per sequence, bf16, batch <= kMaxGraphBatch) run from a
  // CUDA graph captured per batch bucket and key-split count: the batch is padded to the
  // bucket (padding rows write a spare KV block) and every sequence gets the same number
  // of key splits (plan_attention_fixed).
  bool decode_graphs = false;
  // Forked decodes that share at least kMinCascadeKeys keys of whole blocks, kMinCascadeSeqs
  // or more in consecutive rows, read the shared prefix once per step (cascade decode,
  // find_shared_prefixes), with decode_graphs too (a graph per list shape).
  bool cascade_decode = true;
  // Device copies of segment KV for KvReuse::blend (read_segment_kv, place_segment_kv), at
  // most this many bytes, allocated as segments are stored or placed; 0: none (every
  // placement uploads from the host).
  std::size_t segment_device_bytes = std::size_t{1} << 30;
};

class CudaBackend final : public Backend {
 public:
  // Uploads the model's weights (converted to options.dtype; the model may be released
  // afterwards) and allocates the KV pool. Errors: no CUDA device, bad options, an
  // unsupported config (head_dim over 256 or odd, hidden over 8192), a tensor of the wrong
  // shape, out of device memory.
  static Result<std::unique_ptr<CudaBackend>> create(std::shared_ptr<const model::Model> model,
                                                     CudaBackendOptions options);
  static Result<std::unique_ptr<CudaBackend>> create(const model::ModelConfig& config,
                                                     const model::ModelWeights& weights,
                                                     CudaBackendOptions options);
  // For benchmarks: weights drawn on the device, uniform in [-0.02, 0.02] (norms 1), from
  // `seed`. They cost the same to run as real weights of that shape.
  static Result<std::unique_ptr<CudaBackend>> create_random(const model::ModelConfig& config,
                                                            CudaBackendOptions options,
                                                            std::uint64_t seed);
  ~CudaBackend() override;
  CudaBackend(const CudaBackend&) = delete;
  CudaBackend& operator=(const CudaBackend&) = delete;

  std::string name() const override { return "cuda"; }
  std::string kv_layout() const override;
  const KvGeometry& kv_geometry() const override { return geo_; }
  const model::ModelConfig& config() const { return config_; }
  Dtype dtype() const { return dtype_; }

  // Errors (invalid_argument, nothing written) as CpuBackend::forward: no sequences, an empty
  // chunk, a token outside the vocabulary, a position past config.max_context(), a block
  // table that does not cover the chunk or holds an id outside [0, num_blocks). A CUDA
  // failure returns internal.
  Status forward(const BatchPlan& plan, Logits& out) override;
  // forward() without the copy to the host: enqueues the step; device_logits() holds
  // [logit_rows(), vocab] f32 once the stream reaches it (synchronize()).
  Status forward_device(const BatchPlan& plan);
  const float* device_logits() const { return buf_.logits.get<float>(); }
  int logit_rows() const { return step_.out_rows; }
  Status synchronize();
  cudaStream_t stream() const { return stream_; }
  // Samples one token per logits row of the last forward_device() on the GPU (params: one
  // per row) and copies only the tokens back (and, when logprobs is set, each token's raw
  // logprob). Rows with params[r].mask >= 0 first have the logits of tokens outside that
  // mask set to -inf on the device (the masks are uploaded once per call). Errors: a params
  // count that differs from logit_rows(), a mask index outside masks, a CUDA failure.
  Status sample_device(std::span<const SampleParams> params, std::vector<std::int32_t>& tokens,
                       std::vector<float>* logprobs = nullptr, const DeviceTokenMasks& masks = {});
  // Backend's device sampling: forward_device() then sample_device().
  bool samples_on_device() const override { return true; }
  bool masks_on_device() const override { return true; }
  Status forward_sample(const BatchPlan& plan, std::span<const DeviceSampling> params,
                        const DeviceTokenMasks& masks, bool want_logprobs,
                        std::vector<DeviceSample>& out) override;
  // Overlapped steps (Backend's contract): a launch queues the step and its sampling, whose
  // ids land in the device buffer that the next step's pending tokens read (the embedding
  // kernel takes them) and are copied into one of two pinned slots, with an event;
  // collect_sample() waits on the oldest launch's event.
  bool overlaps_steps() const override { return true; }
  Status launch_sample(const BatchPlan& plan, std::span<const DeviceSampling> params,
                       bool want_logprobs) override;
  Status collect_sample(std::vector<DeviceSample>& out) override;

  // Errors (nothing copied) when any id is outside [0, num_blocks).
  Status copy_blocks(std::span<const std::pair<std::int32_t, std::int32_t>> pairs) override;
  // The block as stored on the device ([layer][K|V][kv_head][slot][head_dim] in the dtype),
  // copied on the swap stream: straight to or from registered host memory, else staged
  // through a pinned buffer. The batched forms queue every copy, then synchronize once.
  // Errors: a bad id or size (the batched forms check all before copying any).
  std::size_t block_bytes() const override;
  Status read_block(std::int32_t id, std::span<std::byte> out) override;
  Status write_block(std::int32_t id, std::span<const std::byte> in) override;
  Status read_blocks(std::span<const std::int32_t> ids,
                     std::span<const std::span<std::byte>> out) override;
  Status write_blocks(std::span<const std::int32_t> ids,
                      std::span<const std::span<const std::byte>> in) override;
  // Reads on the swap stream, writes on a second one, each write waiting only for the
  // reads up to its block's (both directions of PCIe at once). Staged spans fall back to
  // read_blocks() then write_blocks().
  Status swap_blocks(std::span<const std::int32_t> read_ids,
                     std::span<const std::span<std::byte>> out,
                     std::span<const std::int32_t> write_ids,
                     std::span<const std::span<const std::byte>> in) override;
  // cudaHostRegister: pins [p, p + bytes) for direct DMA. Errors: the CUDA error.
  Status register_host_memory(void* p, std::size_t bytes) override;
  void unregister_host_memory(void* p) override;
  // Whether [p, p + bytes) lies inside one registered range.
  bool host_registered(const void* p, std::size_t bytes) const;

  // For benchmarks: fills every KV block with random values (timing on zeros flatters).
  Status randomize_kv(std::uint64_t seed);
  // Bytes of weights one step reads: all but the embedding table (for bandwidth floors).
  std::size_t weight_bytes() const { return weight_bytes_; }
  // With decode_graphs: false runs the bucket-padded decode layout eagerly instead of
  // replaying its graph (tests compare the two bit for bit). Graphs captured so far stay.
  void set_graph_replay(bool on) { graph_replay_ = on; }
  // Decode graphs captured so far (one per batch bucket and attention list shape), and steps that
  // replayed one.
  int graphs_captured() const { return static_cast<int>(graphs_.size()); }
  std::int64_t graph_replays() const { return graph_replays_; }
  // For benchmarks: small-M products on the skinny kernel (default) or on cuBLASLt. Drops
  // the captured decode graphs, which hold the other choice.
  void set_skinny_gemm(bool on) {
    gemm_->set_skinny(on);
    drop_graphs();
  }
  // For benchmarks: times each kernel of later eager steps (CUDA events between launches;
  // graph replay bypasses it, so turn set_graph_replay(false) too). collect_kernel_times()
  // waits for the step and adds its intervals to kernel_times(), by kernel name.
  void set_kernel_timing(bool on) { timer_.set_enabled(on); }
  Status collect_kernel_times() { return timer_.collect(); }
  const std::map<std::string, KernelTime>& kernel_times() const { return timer_.times(); }
  void reset_kernel_times() { timer_.reset(); }
  // Segment KV for KvReuse::blend (cuda_segment_kv.cpp; token KV as kernels/segment_kv.h
  // lays it out, in the pool's dtype). Each call finishes its device work before it
  // returns, except forward_kv_probe(), which the stream orders before later calls.
  std::size_t token_kv_bytes() const override;
  Status read_token_kv(std::span<const std::int32_t> block_table, std::int32_t begin,
                       std::int32_t count, std::span<std::byte> out) override;
  Status place_token_kv(std::span<const std::int32_t> block_table, std::int32_t begin,
                        std::span<const std::byte> in, std::int32_t source_begin) override;
  // Keep the segment's copy on the device (DeviceSegmentCache, segment_device_bytes).
  Status read_segment_kv(std::uint64_t id, std::span<const std::int32_t> block_table,
                         std::int32_t begin, std::int32_t count, std::span<std::byte> out) override;
  Status place_segment_kv(std::uint64_t id, std::span<const std::int32_t> block_table,
                          std::int32_t begin, std::span<const std::byte> in,
                          std::int32_t source_begin) override;
  const DeviceSegmentCache& segment_device_cache() const { return seg_cache_; }
  Status forward_kv_probe(const BatchPlan& plan, int layer) override;
  Status token_kv_deviation(std::span<const std::int32_t> block_table, std::int32_t begin,
                            std::span<const std::byte> in, std::int32_t source_begin, int layer,
                            std::span<float> out) override;
  // Anchor offsets (Backend's contract), computed in f32 on the device; `in` and `offsets`
  // are uploaded, the outputs copied back, before each returns.
  Status token_kv_offsets(std::span<const std::int32_t> block_table, std::int32_t begin,
                          std::span<const std::byte> in, std::int32_t source_begin, int first_layer,
                          int last_layer, std::span<float> offsets,
                          std::span<float> unrotated) override;
  Status add_token_kv_offsets(std::span<const std::int32_t> block_table, std::int32_t begin,
                              int first_layer, int last_layer,
                              std::span<const float> offsets) override;
  // Anchors on the GPU (device_anchor_pool.h).
  std::unique_ptr<AnchorPool> make_anchor_pool(int probe_layer,
                                               const kv::AnchorOptions& options) override;

  // Turns CudaBackendOptions::cascade_decode on or off for later steps (benchmarks compare).
  void set_cascade_decode(bool on) { options_.cascade_decode = on; }
  // Steps whose attention ran a cascade over a shared prefix.
  std::int64_t cascade_steps() const { return cascade_steps_; }
  // Rows forward_sample() has sampled on the device.
  std::int64_t device_samples() const { return device_samples_; }
  static constexpr int kMaxGraphBatch = 256;

 private:
  friend class DeviceAnchorPool;  // the segment cache, the KV pool's kernels, the stream
  struct Layer {
    DeviceBuffer attn_norm, wqkv, bqkv, q_norm, k_norm, wo, bo, ffn_norm, w_gate_up, w_down;
  };
  struct Weights {
    DeviceBuffer embed, final_norm, lm_head;  // lm_head empty when tied
    std::vector<Layer> layers;
    DeviceBuffer inv_freq;
    const void* lm_head_ptr() const { return lm_head.bytes() ? lm_head.get() : embed.get(); }
  };
  // The current step's host-side layout, rebuilt by lay_out().
  struct Step {
    std::vector<std::int32_t> tokens, positions, row_block, row_chunk, logit_rows, tables;
    std::vector<AttnChunk> chunks;
    AttentionPlan plan;
    int out_rows = 0;  // logits rows the caller asked for (the first out_rows of logits)
    int bucket = 0;    // > 0: the bucket-padded decode layout of that many rows
    // The graph this layout replays: the bucket and the attention lists' sizes.
    std::array<int, 7> graph_key{};
  };
  struct Buffers {
    DeviceBuffer meta, x, y, h, qkv, q, attn, gate_up, act, hl, logits;
    DeviceBuffer part_o16, part_lse16, part_o_tall, part_lse_tall;
    PinnedBuffer meta_host, logits_host, block_host;
    DeviceBuffer pairs, sample_params, sampled, sample_masks;
    // Per slot: [params | ids and logprobs back | masks]; sampling alternates slots, so a
    // launch's ids stay until it is collected while the next launch fills the other.
    std::array<PinnedBuffer, 2> sample_host;
    // Segment KV (cuda_segment_kv.cpp): token KV, the block table, f32 results or offsets.
    DeviceBuffer seg_tokens, seg_table, seg_out;
  };

  CudaBackend(const model::ModelConfig& config, const CudaBackendOptions& options);
  Status init_device();
  Status upload_weights(const model::ModelWeights& weights);
  Status random_weights(std::uint64_t seed);
  static bool is_tied(const model::ModelConfig& config, const model::ModelWeights& weights);
  Status allocate_weights(bool tied);
  // pending_rows: the rows whose ids the step before sampled (launch_sample's plans).
  Status check_plan(const BatchPlan& plan, int pending_rows = 0) const;
  Status forward_step(const BatchPlan& plan, int pending_rows);
  // sample_device() in two halves: queue the sampling of the last step's logits rows and the
  // copy of its ids (and logprobs) into pinned slot `slot`, then take them once there.
  Status enqueue_sample(std::span<const SampleParams> params, bool logprobs,
                        const DeviceTokenMasks& masks, int slot);
  Status take_sample(int slot, std::size_t rows, std::vector<std::int32_t>& tokens,
                     std::vector<float>* logprobs);
  // Grows buf_.sampled keeping its ids (the next launch's pending tokens read them).
  Status reserve_sampled(std::size_t bytes);
  Status check_block_io(const char* what, std::int32_t id, std::size_t size) const;
  // Queues the copy of one block on io_stream_ (after the compute stream's work, which the
  // caller made it wait for); a staged copy synchronizes, as the staging buffer is reused.
  Status queue_read(std::int32_t id, std::span<std::byte> out);
  Status queue_write(std::int32_t id, std::span<const std::byte> in);
  Status io_after_compute();
  Status lay_out_rows(const BatchPlan& plan);
  // After lay_out_rows(): the eager layout, with cascades over `shared`.
  Status lay_out(const std::vector<SharedPrefix>& shared);
  Status upload_layout();
  Status reserve_buffers(std::size_t rows, std::size_t logit_rows, int partials16,
                         int partials_tall);
  // Decode graphs (cuda_graphs.cpp): the bucket for a plan (0: not graph-eligible), the
  // padded layout, and the step's launches through a captured graph.
  int graph_bucket(const BatchPlan& plan) const;
  // After lay_out_rows(): pads the rows to the bucket, with cascades over `shared`.
  Status lay_out_bucket(const BatchPlan& plan, int bucket, const std::vector<SharedPrefix>& shared);
  Result<int> reserve_graph_meta(int slots);
  Status run_step();
  Status run_bucket();
  std::vector<const void*> buffer_signature() const;
  void drop_graphs();
  Status run_layer(int layer);
  // The first part of run_layer(): the residual add and norm, the QKV GEMM, and q/k/v
  // preparation, which writes the layer's K/V of every row into the pool.
  Status run_qkv(int layer);
  // A product into the hidden size whose output joins the residual (o_proj, down_proj):
  // added into x (beta = 1) where residual_in_gemms(), else written to y for add_rmsnorm.
  // Timed as `name`, or `name_add` when it adds (string literals).
  Status run_output_gemm(const void* a, const void* w, int k, const char* name,
                         const char* name_add);
  // The middle of run_layer(): SwiGLU's input `act` from the residual x, normalized by
  // the skinny product itself (norms_in_gemms) or by add_rmsnorm before the gate|up product.
  Status run_swiglu_input(int layer);
  // Whether a step of `rows` runs its layers without add_rmsnorm kernels: one row on the
  // skinny kernels (bf16, no o_proj bias), the o and down GEMMs adding into x and the qkv and
  // gate/up products normalizing x themselves (skinny_gemm.h). Then y is not used.
  bool norms_in_gemms(int rows) const;
  bool weights_take_fused_norms() const;  // every layer's shapes, alignment and no o bias
  mutable int norms_fusable_ = -1;        // weights_take_fused_norms(), once known
  // Whether the o and down GEMMs add the residual into x (beta = 1), for every row count:
  // no layer has an o_proj bias. Then y is only those GEMMs' tuning scratch.
  bool residual_in_gemms() const;
  mutable int residual_in_gemms_ = -1;
  // Segment KV: uploads the block table (checked by check_token_range, batch_plan.h).
  Status upload_token_table(std::span<const std::int32_t> block_table);
  // The kernels' view of `count` tokens at `begin` of the uploaded table, copies in `tokens`.
  TokenKvParams token_params(std::int32_t begin, std::int64_t count, void* tokens) const;
  // Checks `bytes` of token KV for [begin, ...) of the table: the token count, or an error.
  Result<std::int64_t> check_token_bytes(const char* what,
                                         std::span<const std::int32_t> block_table,
                                         std::int32_t begin, std::size_t bytes) const;
  // Checks [first_layer, last_layer) against the model's layers.
  Status check_layer_range(const char* what, int first_layer, int last_layer) const;
  // The placement kernel from token KV already on the device (the table uploaded).
  Status place_from_device(std::int32_t begin, std::int64_t count, const void* tokens,
                           std::int32_t source_begin);
  AttentionParams attention_params(int layer) const;

  model::ModelConfig config_;
  CudaBackendOptions options_;
  Dtype dtype_;
  KvGeometry geo_;
  int sm_count_ = 0;
  cudaStream_t stream_ = nullptr;
  cudaStream_t io_stream_ = nullptr;
  cudaStream_t io_write_stream_ = nullptr;  // swap_blocks()'s writes
  std::vector<cudaEvent_t> swap_events_;    // swap_blocks(): one per chunk of reads
  std::vector<std::pair<char*, std::size_t>> host_registered_;  // register_host_memory()
  cudaEvent_t meta_copied_ = nullptr;
  cudaEvent_t compute_done_ = nullptr;
  cudaEvent_t io_done_ = nullptr;
  std::array<cudaEvent_t, 2> sampled_ready_{};  // a slot's ids reached its pinned buffer
  int next_slot_ = 0;
  struct Launch {
    int slot = 0;
    std::size_t rows = 0;
    bool logprobs = false;
  };
  std::vector<Launch> launches_;  // launched and not yet collected, oldest first
  // Rows of the newest sampling whose ids buf_.sampled still holds for pending tokens (0
  // after a step that did not sample on the device: forward(), forward_device()).
  int sampled_rows_ = 0;
  std::unique_ptr<Gemm> gemm_;
  Weights w_;
  DeviceBuffer kv_pool_;
  std::size_t weight_bytes_ = 0;
  Step step_;
  Buffers buf_;
  std::map<std::array<int, 7>, cudaGraphExec_t> graphs_;  // graph_key -> executable graph
  std::vector<const void*> graph_signature_;              // buffers the graphs were captured with
  bool graph_replay_ = true;
  std::int64_t graph_replays_ = 0;
  std::int64_t cascade_steps_ = 0;
  std::int64_t device_samples_ = 0;
  KernelTimer timer_;
  DeviceSegmentCache seg_cache_;
  // Device pointers into buf_.meta for the current step.
  struct MetaPtrs {
    const std::int32_t *tokens, *positions, *row_block, *row_chunk, *logit_rows, *tables;
    const AttnChunk* chunks;
    const AttnWork *work16, *work_tall;
    const AttnCombine *combine16, *combine_tall;
    const AttnCascade* cascade;
  } meta_{};
};

}  // namespace agentrt::kernels
