// CpuBackend: the reference Backend. Runs the Llama-family decoder (Llama, Qwen2, Qwen3,
// Mistral) in f32 as Hugging Face transformers does (bf16 weight matrices are kept in bf16
// and widened exactly to f32 inside the kernels), with GEMMs over all tokens of a step and
// paged f32 KV memory. Like every Backend, one thread drives it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/backend.h"
#include "engine/cpu/attention.h"
#include "engine/cpu/cpu_weights.h"
#include "engine/cpu/kv_cache.h"
#include "engine/cpu/rope.h"
#include "engine/cpu/thread_pool.h"
#include "engine/model/model.h"

namespace agentrt::cpu {

// Most threads a CpuBackend runs (CpuBackendOptions::num_threads, --threads).
inline constexpr int kMaxCpuThreads = 256;

struct CpuBackendOptions {
  int num_blocks = 256;  // in [1, kMaxKvBlocks]
  int block_size = 16;
  int num_threads = 0;  // 0 = hardware concurrency; at most kMaxCpuThreads
  // Bytes the KV pool may take (num_blocks x block_bytes()); 0 = half of physical RAM
  // (default_host_kv_limit_bytes).
  std::uint64_t max_kv_bytes = 0;
};

class CpuBackend final : public Backend {
 public:
  // Copies the model's weights (bf16 matrices as bf16, the rest as f32; the model may be
  // released afterwards) and allocates
  // num_blocks KV blocks. Errors: bad options (invalid_argument: a block count outside
  // [1, kMaxKvBlocks], threads outside [0, kMaxCpuThreads]; out_of_memory: a pool larger
  // than max_kv_bytes, or f32 weights larger than physical RAM, checked before anything is
  // allocated), an unsupported config, a tensor of the wrong shape or size. Sets OpenBLAS to one
  // thread per call: the backend splits GEMMs itself.
  static Result<std::unique_ptr<CpuBackend>> create(std::shared_ptr<const model::Model> model,
                                                    CpuBackendOptions options);
  // The same from a config and bound weights, which need only live during the call.
  static Result<std::unique_ptr<CpuBackend>> create(const model::ModelConfig& config,
                                                    const model::ModelWeights& weights,
                                                    CpuBackendOptions options);

  std::string name() const override { return "cpu"; }
  std::string kv_layout() const override;
  const KvGeometry& kv_geometry() const override { return kv_.geometry(); }
  const model::ModelConfig& config() const { return config_; }
  // Bytes of the weight matrices a decode step streams, as held (bf16 or f32): every layer
  // matrix and the lm_head (the embedding table when tied; an untied table is not counted,
  // a step reads one row of it per token).
  std::size_t streamed_matrix_bytes() const;

  // Errors (invalid_argument, nothing written): no sequences, an empty chunk, a token
  // outside the vocabulary, a position past config.max_context(), a block table that
  // does not cover the chunk or holds an id outside [0, num_blocks).
  Status forward(const BatchPlan& plan, Logits& out) override;
  // Errors (nothing copied) when any id is outside [0, num_blocks).
  Status copy_blocks(std::span<const std::pair<std::int32_t, std::int32_t>> pairs) override;
  // f32 K then V of each layer in turn. Errors (nothing moved): a bad id or size.
  std::size_t block_bytes() const override;
  Status read_block(std::int32_t id, std::span<std::byte> out) override;
  Status write_block(std::int32_t id, std::span<const std::byte> in) override;
  // Segment KV for blend (cpu_segment_kv.cpp): per token, f32 K then V of each layer.
  std::size_t token_kv_bytes() const override;
  Status read_token_kv(std::span<const std::int32_t> block_table, std::int32_t begin,
                       std::int32_t count, std::span<std::byte> out) override;
  Status place_token_kv(std::span<const std::int32_t> block_table, std::int32_t begin,
                        std::span<const std::byte> in, std::int32_t source_begin) override;
  Status forward_kv_probe(const BatchPlan& plan, int layer) override;
  Status token_kv_deviation(std::span<const std::int32_t> block_table, std::int32_t begin,
                            std::span<const std::byte> in, std::int32_t source_begin, int layer,
                            std::span<float> out) override;
  Status token_kv_offsets(std::span<const std::int32_t> block_table, std::int32_t begin,
                          std::span<const std::byte> in, std::int32_t source_begin, int first_layer,
                          int last_layer, std::span<float> offsets,
                          std::span<float> unrotated) override;
  Status add_token_kv_offsets(std::span<const std::int32_t> block_table, std::int32_t begin,
                              int first_layer, int last_layer,
                              std::span<const float> offsets) override;

 private:
  Status check_layers(const char* what, int first_layer, int last_layer) const;
  CpuBackend(const model::ModelConfig& config, CpuWeights weights, const KvGeometry& geometry,
             int num_threads);

  Status check_plan(const BatchPlan& plan) const;
  Status check_block_io(const char* what, std::int32_t id, std::size_t size) const;
  void lay_out(const BatchPlan& plan);
  void embed_tokens();
  void project_qkv(int layer);  // h, qkv; K/V of the step's tokens written to kv_
  void attention_block(int layer);
  void prepare_qkv(int layer, std::size_t row);
  void mlp_block(int layer);
  void write_logits(Logits& out);

  model::ModelConfig config_;
  CpuWeights weights_;
  CpuKvCache kv_;
  Rope rope_;
  std::unique_ptr<ThreadPool> pool_;

  struct AttnItem {
    int chunk = 0, first = 0, count = 0;
  };
  // The current step, rebuilt by lay_out; buffers keep their capacity across steps.
  struct Step {
    std::vector<std::int32_t> tokens;
    std::vector<int> positions;
    std::vector<int> chunk_of_row;
    std::vector<ChunkRows> chunks;
    std::vector<int> logit_rows;
    std::vector<AttnItem> attn_items;  // per kv head: rows [first, first + count) of a chunk
    std::vector<float> x, h, qkv, attn, gate_up, act;
  } step_;
};

}  // namespace agentrt::cpu
