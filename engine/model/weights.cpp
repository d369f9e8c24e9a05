// weights.h: binding Hugging Face tensor names to roles, with shape checks.
#include "engine/model/weights.h"

#include <algorithm>
#include <cstdint>
#include <string>

namespace agentrt::model {
namespace {

using Shape = std::vector<std::int64_t>;

std::string shape_string(const Shape& shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i)
    out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

class Binder {
 public:
  explicit Binder(const Checkpoint& checkpoint) : checkpoint_(checkpoint) {}

  // Finds `name` and checks its shape; an error names the file, the tensor and both shapes.
  Result<const TensorView*> bind(const std::string& name, const Shape& expected) const {
    const TensorView* view = checkpoint_.find(name);
    if (view == nullptr) {
      return make_error(ErrorCode::not_found, checkpoint_.source() + ": missing tensor '" + name +
                                                  "' (checkpoint " + checkpoint_.dir().string() +
                                                  ")");
    }
    if (view->shape != expected) {
      return make_error(ErrorCode::invalid_argument,
                        view->file + ": tensor '" + name + "': shape " + shape_string(view->shape) +
                            " does not match the config's " + shape_string(expected));
    }
    return view;
  }

  // bind() into `slot`, so a caller can chain calls with AGENTRT_TRY.
  Status into(const TensorView*& slot, const std::string& name, const Shape& expected) const {
    auto view = bind(name, expected);
    AGENTRT_TRY(view);
    slot = *view;
    return ok_status();
  }

 private:
  const Checkpoint& checkpoint_;
};

Result<LayerWeights> bind_layer(const Binder& b, const ModelConfig& c, int layer) {
  const std::int64_t hidden = c.hidden_size;
  const std::int64_t q_dim = std::int64_t{c.num_heads} * c.head_dim;
  const std::int64_t kv_dim = std::int64_t{c.num_kv_heads} * c.head_dim;
  const std::int64_t inter = c.intermediate_size;
  const std::string p = "model.layers." + std::to_string(layer) + ".";
  LayerWeights w;
  AGENTRT_TRY(b.into(w.attn_norm, p + "input_layernorm.weight", {hidden}));
  AGENTRT_TRY(b.into(w.wq, p + "self_attn.q_proj.weight", {q_dim, hidden}));
  AGENTRT_TRY(b.into(w.wk, p + "self_attn.k_proj.weight", {kv_dim, hidden}));
  AGENTRT_TRY(b.into(w.wv, p + "self_attn.v_proj.weight", {kv_dim, hidden}));
  AGENTRT_TRY(b.into(w.wo, p + "self_attn.o_proj.weight", {hidden, q_dim}));
  if (c.attention_bias) {
    AGENTRT_TRY(b.into(w.bq, p + "self_attn.q_proj.bias", {q_dim}));
    AGENTRT_TRY(b.into(w.bk, p + "self_attn.k_proj.bias", {kv_dim}));
    AGENTRT_TRY(b.into(w.bv, p + "self_attn.v_proj.bias", {kv_dim}));
  }
  if (c.attention_out_bias) AGENTRT_TRY(b.into(w.bo, p + "self_attn.o_proj.bias", {hidden}));
  if (c.qk_norm) {
    AGENTRT_TRY(b.into(w.q_norm, p + "self_attn.q_norm.weight", {c.head_dim}));
    AGENTRT_TRY(b.into(w.k_norm, p + "self_attn.k_norm.weight", {c.head_dim}));
  }
  AGENTRT_TRY(b.into(w.ffn_norm, p + "post_attention_layernorm.weight", {hidden}));
  AGENTRT_TRY(b.into(w.w_gate, p + "mlp.gate_proj.weight", {inter, hidden}));
  AGENTRT_TRY(b.into(w.w_up, p + "mlp.up_proj.weight", {inter, hidden}));
  AGENTRT_TRY(b.into(w.w_down, p + "mlp.down_proj.weight", {hidden, inter}));
  return w;
}

}  // namespace

Result<ModelWeights> bind_weights(const Checkpoint& checkpoint, const ModelConfig& config) {
  const Binder b(checkpoint);
  const Shape embed_shape = {config.vocab_size, config.hidden_size};
  ModelWeights w;
  AGENTRT_TRY(b.into(w.embed, "model.embed_tokens.weight", embed_shape));
  // config.json's layer count is untrusted: a missing layer's tensor ends the loop below,
  // so reserve no more layers than the checkpoint has tensors.
  w.layers.reserve(
      std::min(static_cast<std::size_t>(config.num_layers), checkpoint.tensor_count()));
  for (int i = 0; i < config.num_layers; ++i) {
    auto layer = bind_layer(b, config, i);
    AGENTRT_TRY(layer);
    w.layers.push_back(*layer);
  }
  AGENTRT_TRY(b.into(w.final_norm, "model.norm.weight", {config.hidden_size}));
  // Tied checkpoints usually omit lm_head.weight; when one is stored anyway, it wins.
  if (config.tie_word_embeddings && checkpoint.find("lm_head.weight") == nullptr) {
    w.lm_head = w.embed;
  } else {
    AGENTRT_TRY(b.into(w.lm_head, "lm_head.weight", embed_shape));
  }
  return w;
}

}  // namespace agentrt::model
