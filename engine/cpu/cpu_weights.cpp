#include "engine/cpu/cpu_weights.h"

#include <cstdint>
#include <cstring>
#include <string>

#include "engine/cpu/bf16_matmul.h"
#include "engine/model/dtype.h"

namespace agentrt::cpu {
namespace {

std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// Checks tensor `t` against `shape`; returns its element count.
Result<std::size_t> check_tensor(const model::TensorView* t, const std::vector<std::int64_t>& shape,
                                 const char* role) {
  if (t == nullptr) {
    return make_error(ErrorCode::not_found, std::string("weight '") + role + "' is missing");
  }
  const std::string where = "tensor '" + (t->name.empty() ? std::string(role) : t->name) + "'";
  if (t->shape != shape) {
    return make_error(ErrorCode::invalid_argument, where + ": shape " + shape_string(t->shape) +
                                                       ", want " + shape_string(shape));
  }
  std::int64_t count = 1;
  for (auto d : shape)
    count *= d;
  const auto n = static_cast<std::size_t>(count);
  if (t->data.size() != n * model::dtype_size(t->dtype)) {
    return make_error(ErrorCode::corrupt, where + ": " + std::to_string(t->data.size()) +
                                              " bytes for " + std::to_string(n) + " elements");
  }
  return n;
}

// Appends tensor `t` (checked to have `shape`) to dst as f32.
Status append(const model::TensorView* t, const std::vector<std::int64_t>& shape, const char* role,
              std::vector<float>& dst) {
  auto n = check_tensor(t, shape, role);
  if (!n.ok()) return n.error();
  const std::size_t offset = dst.size();
  dst.resize(offset + *n);
  model::convert_to_f32(t->dtype, t->data.data(), *n, dst.data() + offset);
  return ok_status();
}

// Appends a matrix: bf16 stays bf16 while every part so far is bf16; any other dtype turns
// the whole matrix into f32.
Status append(const model::TensorView* t, const std::vector<std::int64_t>& shape, const char* role,
              WeightMatrix& dst) {
  auto n = check_tensor(t, shape, role);
  if (!n.ok()) return n.error();
  const bool empty = dst.size() == 0;
  if (t->dtype == model::DType::bf16 && (empty || dst.is_bf16())) {
    const std::size_t offset = dst.bf16.size();
    dst.bf16.resize(offset + *n);
    if (*n > 0) std::memcpy(dst.bf16.data() + offset, t->data.data(), *n * sizeof(std::uint16_t));
    return ok_status();
  }
  if (dst.is_bf16()) {  // mixed dtypes: widen what is there
    dst.f32.resize(dst.bf16.size());
    bf16_to_f32(dst.bf16.data(), dst.bf16.size(), dst.f32.data());
    dst.bf16 = {};
  }
  return append(t, shape, role, dst.f32);
}

Result<CpuLayerWeights> convert_layer(const model::ModelConfig& c, const model::LayerWeights& w,
                                      int index) {
  const std::int64_t h = c.hidden_size, hd = c.head_dim, inter = c.intermediate_size;
  const std::int64_t q_rows = c.num_heads * hd, kv_rows = c.num_kv_heads * hd;
  CpuLayerWeights out;
  const std::string ctx = "layer " + std::to_string(index);
  auto add = [&](const model::TensorView* t, std::vector<std::int64_t> shape, const char* role,
                 auto& dst) {
    Status st = append(t, shape, role, dst);
    return st.ok() ? st : Status(st.error().with_context(ctx));
  };
  AGENTRT_TRY(add(w.attn_norm, {h}, "input_layernorm", out.attn_norm));
  AGENTRT_TRY(add(w.wq, {q_rows, h}, "q_proj", out.wqkv));
  AGENTRT_TRY(add(w.wk, {kv_rows, h}, "k_proj", out.wqkv));
  AGENTRT_TRY(add(w.wv, {kv_rows, h}, "v_proj", out.wqkv));
  if (c.attention_bias) {
    AGENTRT_TRY(add(w.bq, {q_rows}, "q_proj.bias", out.bqkv));
    AGENTRT_TRY(add(w.bk, {kv_rows}, "k_proj.bias", out.bqkv));
    AGENTRT_TRY(add(w.bv, {kv_rows}, "v_proj.bias", out.bqkv));
  }
  if (c.qk_norm) {
    AGENTRT_TRY(add(w.q_norm, {hd}, "q_norm", out.q_norm));
    AGENTRT_TRY(add(w.k_norm, {hd}, "k_norm", out.k_norm));
  }
  AGENTRT_TRY(add(w.wo, {h, q_rows}, "o_proj", out.wo));
  if (c.attention_out_bias) AGENTRT_TRY(add(w.bo, {h}, "o_proj.bias", out.bo));
  AGENTRT_TRY(add(w.ffn_norm, {h}, "post_attention_layernorm", out.ffn_norm));
  AGENTRT_TRY(add(w.w_gate, {inter, h}, "gate_proj", out.w_gate_up));
  AGENTRT_TRY(add(w.w_up, {inter, h}, "up_proj", out.w_gate_up));
  AGENTRT_TRY(add(w.w_down, {h, inter}, "down_proj", out.w_down));
  return out;
}

}  // namespace

void WeightMatrix::row(std::size_t r, std::size_t cols, float* out) const {
  if (is_bf16()) {
    bf16_to_f32(bf16.data() + r * cols, cols, out);
  } else {
    std::memcpy(out, f32.data() + r * cols, cols * sizeof(float));
  }
}

Status check_cpu_config(const model::ModelConfig& c) {
  auto bad = [](const std::string& m) { return make_error(ErrorCode::unsupported, m); };
  if (c.vocab_size <= 0 || c.hidden_size <= 0 || c.intermediate_size <= 0 || c.num_layers <= 0 ||
      c.num_heads <= 0 || c.num_kv_heads <= 0 || c.head_dim <= 0) {
    return bad("model config: sizes must be positive");
  }
  if (c.num_heads % c.num_kv_heads != 0) {
    return bad("model config: num_heads " + std::to_string(c.num_heads) +
               " is not a multiple of num_kv_heads " + std::to_string(c.num_kv_heads));
  }
  if (c.head_dim % 2 != 0 || c.head_dim > 512) {
    return bad("model config: head_dim " + std::to_string(c.head_dim) +
               " must be even and at most 512");
  }
  if (c.max_position_embeddings <= 0) return bad("model config: max_position_embeddings <= 0");
  return ok_status();
}

double CpuWeights::f32_bytes(const model::ModelConfig& c, bool tied) {
  const double h = c.hidden_size, hd = c.head_dim, inter = c.intermediate_size;
  const double q = c.num_heads * hd, kv = c.num_kv_heads * hd;
  double layer = 2 * h + (q + 2 * kv) * h + h * q + 3 * inter * h;
  if (c.attention_bias) layer += q + 2 * kv;
  if (c.qk_norm) layer += 2 * hd;
  if (c.attention_out_bias) layer += h;
  const double embed = static_cast<double>(c.vocab_size) * h;
  return 4.0 * (embed * (tied ? 1 : 2) + h + layer * c.num_layers);
}

Result<CpuWeights> CpuWeights::convert(const model::ModelConfig& c, const model::ModelWeights& w) {
  AGENTRT_TRY(check_cpu_config(c));
  if (w.layers.size() != static_cast<std::size_t>(c.num_layers)) {
    return make_error(ErrorCode::invalid_argument,
                      "model weights: " + std::to_string(w.layers.size()) + " layers, config has " +
                          std::to_string(c.num_layers));
  }
  CpuWeights out;
  const std::int64_t h = c.hidden_size, v = c.vocab_size;
  AGENTRT_TRY(append(w.embed, {v, h}, "embed_tokens", out.embed));
  AGENTRT_TRY(append(w.final_norm, {h}, "norm", out.final_norm));
  const bool tied = w.lm_head == w.embed || (w.lm_head == nullptr && c.tie_word_embeddings);
  if (!tied) AGENTRT_TRY(append(w.lm_head, {v, h}, "lm_head", out.lm_head));
  out.layers.reserve(w.layers.size());
  for (std::size_t i = 0; i < w.layers.size(); ++i) {
    auto layer = convert_layer(c, w.layers[i], static_cast<int>(i));
    if (!layer.ok()) return layer.error();
    out.layers.push_back(std::move(layer).value());
  }
  return out;
}

}  // namespace agentrt::cpu
