// CpuWeights: every model tensor copied to owned row-major memory, with the projections
// that share an input fused so one GEMM computes them (q|k|v and gate|up). Matrices stored
// in bf16 by the checkpoint stay bf16 (half the bytes a decode step reads); every other
// tensor, and every vector, is held in f32.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/common/result.h"
#include "engine/model/config.h"
#include "engine/model/weights.h"

namespace agentrt::cpu {

// A row-major weight matrix [rows, cols], held either as f32 or as bf16 bits (exactly one
// of the two vectors is non-empty once filled).
struct WeightMatrix {
  std::vector<float> f32;
  std::vector<std::uint16_t> bf16;

  bool is_bf16() const { return !bf16.empty(); }
  std::size_t size() const { return f32.size() + bf16.size(); }
  // Row r of a matrix with `cols` columns, widened to f32.
  void row(std::size_t r, std::size_t cols, float* out) const;
};

struct CpuLayerWeights {
  std::vector<float> attn_norm;  // [hidden]
  WeightMatrix wqkv;             // [(heads + 2*kv_heads) * head_dim, hidden]: q rows, k, v
  std::vector<float> bqkv;       // same rows; empty unless attention_bias
  std::vector<float> q_norm;     // [head_dim]; empty unless qk_norm
  std::vector<float> k_norm;     // [head_dim]; empty unless qk_norm
  WeightMatrix wo;               // [hidden, heads * head_dim]
  std::vector<float> bo;         // [hidden]; empty unless attention_out_bias
  std::vector<float> ffn_norm;   // [hidden]
  WeightMatrix w_gate_up;        // [2 * intermediate, hidden]: gate rows, then up rows
  WeightMatrix w_down;           // [hidden, intermediate]
};

struct CpuWeights {
  WeightMatrix embed;  // [vocab, hidden]
  std::vector<CpuLayerWeights> layers;
  std::vector<float> final_norm;  // [hidden]
  WeightMatrix lm_head;           // [vocab, hidden]; empty when tied to embed

  const WeightMatrix& lm_head_matrix() const { return lm_head.size() == 0 ? embed : lm_head; }

  // Converts and checks every tensor against the config. Errors name the tensor and the
  // expected shape: "tensor 'model.layers.0.self_attn.q_proj.weight': shape [8, 32], want [32,
  // 32]".
  static Result<CpuWeights> convert(const model::ModelConfig& config,
                                    const model::ModelWeights& weights);

  // Bytes convert() allocates for `config` if every tensor is held in f32, an upper bound
  // (an estimate in double: config values are untrusted and their products may exceed
  // 2^64). `tied`: lm_head shares embed.
  static double f32_bytes(const model::ModelConfig& config, bool tied);
};

// Checks the config fields the CPU backend relies on (positive sizes, heads divisible by
// kv_heads, even head_dim up to 512).
Status check_cpu_config(const model::ModelConfig& config);

}  // namespace agentrt::cpu
