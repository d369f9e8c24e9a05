// ModelWeights: the checkpoint's tensors bound to their roles, with every shape checked
// against the config. Views point into the Checkpoint's mapped files (no copies); a backend
// converts or uploads them.
#pragma once

#include <vector>

#include "engine/common/result.h"
#include "engine/model/checkpoint.h"
#include "engine/model/config.h"

namespace agentrt::model {

struct LayerWeights {
  const TensorView* attn_norm = nullptr;  // [hidden]
  const TensorView* wq = nullptr;         // [heads*head_dim, hidden]
  const TensorView* wk = nullptr;         // [kv_heads*head_dim, hidden]
  const TensorView* wv = nullptr;         // [kv_heads*head_dim, hidden]
  const TensorView* wo = nullptr;         // [hidden, heads*head_dim]
  const TensorView* bq = nullptr;         // [heads*head_dim]    when attention_bias
  const TensorView* bk = nullptr;         // [kv_heads*head_dim] when attention_bias
  const TensorView* bv = nullptr;         // [kv_heads*head_dim] when attention_bias
  const TensorView* bo = nullptr;         // [hidden] when attention_out_bias
  const TensorView* q_norm = nullptr;     // [head_dim] when qk_norm
  const TensorView* k_norm = nullptr;     // [head_dim] when qk_norm
  const TensorView* ffn_norm = nullptr;   // [hidden]
  const TensorView* w_gate = nullptr;     // [intermediate, hidden]
  const TensorView* w_up = nullptr;       // [intermediate, hidden]
  const TensorView* w_down = nullptr;     // [hidden, intermediate]
};

struct ModelWeights {
  const TensorView* embed = nullptr;  // [vocab, hidden]
  std::vector<LayerWeights> layers;
  const TensorView* final_norm = nullptr;  // [hidden]
  const TensorView* lm_head = nullptr;     // [vocab, hidden]; == embed when tied
};

// Binds HF tensor names (model.layers.N.self_attn.q_proj.weight, ...) to roles. Errors:
// "model-00002-of-00002.safetensors: tensor 'model.layers.1.mlp.up_proj.weight': shape
// [64, 32] does not match the config's [128, 64]", or a missing tensor by name.
Result<ModelWeights> bind_weights(const Checkpoint& checkpoint, const ModelConfig& config);

}  // namespace agentrt::model
