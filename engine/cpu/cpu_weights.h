// CpuWeights: every model tensor converted to owned row-major f32, with the projections
// that share an input fused so one GEMM computes them (q|k|v and gate|up).
#pragma once

#include <vector>

#include "engine/common/result.h"
#include "engine/model/config.h"
#include "engine/model/weights.h"

namespace agentrt::cpu {

struct CpuLayerWeights {
  std::vector<float> attn_norm;  // [hidden]
  std::vector<float> wqkv;       // [(heads + 2*kv_heads) * head_dim, hidden]: q rows, k, v
  std::vector<float> bqkv;       // same rows; empty unless attention_bias
  std::vector<float> q_norm;     // [head_dim]; empty unless qk_norm
  std::vector<float> k_norm;     // [head_dim]; empty unless qk_norm
  std::vector<float> wo;         // [hidden, heads * head_dim]
  std::vector<float> bo;         // [hidden]; empty unless attention_out_bias
  std::vector<float> ffn_norm;   // [hidden]
  std::vector<float> w_gate_up;  // [2 * intermediate, hidden]: gate rows, then up rows
  std::vector<float> w_down;     // [hidden, intermediate]
};

struct CpuWeights {
  std::vector<float> embed;  // [vocab, hidden]
  std::vector<CpuLayerWeights> layers;
  std::vector<float> final_norm;  // [hidden]
  std::vector<float> lm_head;     // [vocab, hidden]; empty when tied to embed

  const float* lm_head_data() const { return lm_head.empty() ? embed.data() : lm_head.data(); }

  // Converts and checks every tensor against the config. Errors name the tensor and the
  // expected shape: "tensor 'model.layers.0.self_attn.q_proj.weight': shape [8, 32], want [32,
  // 32]".
  static Result<CpuWeights> convert(const model::ModelConfig& config,
                                    const model::ModelWeights& weights);

  // Bytes convert() allocates for `config` (an estimate in double: config values are
  // untrusted and their products may exceed 2^64). `tied`: lm_head shares embed.
  static double f32_bytes(const model::ModelConfig& config, bool tied);
};

// Checks the config fields the CPU backend relies on (positive sizes, heads divisible by
// kv_heads, even head_dim up to 512).
Status check_cpu_config(const model::ModelConfig& config);

}  // namespace agentrt::cpu
