// CudaBackend weights: allocation by the config's shapes, upload from a checkpoint (checked
// and converted on the host), or random fill on the device for benchmarks.
#include <cstdint>
#include <string>
#include <vector>

#include "engine/cpu/rope.h"
#include "engine/model/dtype.h"
#include "kernels/cuda_backend.h"

namespace agentrt::kernels {
namespace {

std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::size_t count_of(const std::vector<std::int64_t>& shape) {
  std::size_t n = 1;
  for (auto d : shape)
    n *= static_cast<std::size_t>(d);
  return n;
}

// Checks tensor `t` against `shape` and copies it, converted to `dt`, to dst + offset
// elements. Errors name the tensor: "tensor 'x': shape [8, 32], want [32, 32]".
Status upload(const model::TensorView* t, const std::vector<std::int64_t>& shape,
              const std::string& role, Dtype dt, void* dst, std::size_t offset) {
  if (t == nullptr) return make_error(ErrorCode::not_found, "weight '" + role + "' is missing");
  const std::string where = "tensor '" + (t->name.empty() ? role : t->name) + "'";
  if (t->shape != shape) {
    return make_error(ErrorCode::invalid_argument, where + ": shape " + shape_string(t->shape) +
                                                       ", want " + shape_string(shape));
  }
  const std::size_t n = count_of(shape);
  if (t->data.size() != n * model::dtype_size(t->dtype)) {
    return make_error(ErrorCode::corrupt, where + ": " + std::to_string(t->data.size()) +
                                              " bytes for " + std::to_string(n) + " elements");
  }
  std::vector<float> f(n);
  model::convert_to_f32(t->dtype, t->data.data(), n, f.data());
  const std::size_t elt = dtype_bytes(dt);
  char* base = static_cast<char*>(dst) + offset * elt;
  if (dt == Dtype::f32) {
    return cuda_status(cudaMemcpy(base, f.data(), n * 4, cudaMemcpyHostToDevice), where.c_str());
  }
  std::vector<std::uint16_t> b(n);
  for (std::size_t i = 0; i < n; ++i)
    b[i] = model::f32_to_bf16(f[i]);
  return cuda_status(cudaMemcpy(base, b.data(), n * 2, cudaMemcpyHostToDevice), where.c_str());
}

}  // namespace

bool CudaBackend::is_tied(const model::ModelConfig& c, const model::ModelWeights& w) {
  return w.lm_head == w.embed || (w.lm_head == nullptr && c.tie_word_embeddings);
}

Status CudaBackend::allocate_weights(bool tied) {
  const auto& c = config_;
  const std::size_t e = dtype_bytes(dtype_), h = c.hidden_size, hd = c.head_dim;
  const std::size_t width = (c.num_heads + 2 * c.num_kv_heads) * hd, q_width = c.num_heads * hd;
  const std::size_t inter = c.intermediate_size, vocab = c.vocab_size;
  std::size_t total = 0;
  auto alloc = [&](DeviceBuffer& b, std::size_t bytes, bool counted) {
    if (counted) total += bytes;
    return b.allocate(bytes);
  };
  AGENTRT_TRY(alloc(w_.embed, vocab * h * e, false));
  AGENTRT_TRY(alloc(w_.final_norm, h * 4, true));
  if (!tied) AGENTRT_TRY(alloc(w_.lm_head, vocab * h * e, true));
  if (tied) total += vocab * h * e;  // the tied embedding is read as the lm_head
  w_.layers.resize(static_cast<std::size_t>(c.num_layers));
  for (auto& L : w_.layers) {
    AGENTRT_TRY(alloc(L.attn_norm, h * 4, true));
    AGENTRT_TRY(alloc(L.wqkv, width * h * e, true));
    if (c.attention_bias) AGENTRT_TRY(alloc(L.bqkv, width * 4, true));
    if (c.qk_norm) {
      AGENTRT_TRY(alloc(L.q_norm, hd * 4, true));
      AGENTRT_TRY(alloc(L.k_norm, hd * 4, true));
    }
    AGENTRT_TRY(alloc(L.wo, h * q_width * e, true));
    if (c.attention_out_bias) AGENTRT_TRY(alloc(L.bo, h * 4, true));
    AGENTRT_TRY(alloc(L.ffn_norm, h * 4, true));
    AGENTRT_TRY(alloc(L.w_gate_up, 2 * inter * h * e, true));
    AGENTRT_TRY(alloc(L.w_down, h * inter * e, true));
  }
  weight_bytes_ = total;  // bytes one decode step reads (embedding rows aside)
  const std::vector<float> inv = cpu::rope_inv_freq(c);
  AGENTRT_TRY(w_.inv_freq.allocate(inv.size() * 4));
  return cuda_status(
      cudaMemcpy(w_.inv_freq.get(), inv.data(), inv.size() * 4, cudaMemcpyHostToDevice),
      "inv_freq upload");
}

Status CudaBackend::upload_weights(const model::ModelWeights& w) {
  const auto& c = config_;
  if (w.layers.size() != static_cast<std::size_t>(c.num_layers)) {
    return make_error(ErrorCode::invalid_argument,
                      "model weights: " + std::to_string(w.layers.size()) + " layers, config has " +
                          std::to_string(c.num_layers));
  }
  const std::int64_t h = c.hidden_size, v = c.vocab_size, hd = c.head_dim;
  const std::int64_t inter = c.intermediate_size;
  const std::int64_t q_rows = c.num_heads * hd, kv_rows = c.num_kv_heads * hd;
  const Dtype f = Dtype::f32, t = dtype_;
  const bool tied = is_tied(c, w);
  AGENTRT_TRY(upload(w.embed, {v, h}, "embed_tokens", t, w_.embed.get(), 0));
  AGENTRT_TRY(upload(w.final_norm, {h}, "norm", f, w_.final_norm.get(), 0));
  if (!tied) AGENTRT_TRY(upload(w.lm_head, {v, h}, "lm_head", t, w_.lm_head.get(), 0));
  for (std::size_t i = 0; i < w.layers.size(); ++i) {
    const auto& s = w.layers[i];
    Layer& L = w_.layers[i];
    const std::string p = "layer " + std::to_string(i) + " ";
    AGENTRT_TRY(upload(s.attn_norm, {h}, p + "input_layernorm", f, L.attn_norm.get(), 0));
    AGENTRT_TRY(upload(s.wq, {q_rows, h}, p + "q_proj", t, L.wqkv.get(), 0));
    AGENTRT_TRY(upload(s.wk, {kv_rows, h}, p + "k_proj", t, L.wqkv.get(), q_rows * h));
    AGENTRT_TRY(upload(s.wv, {kv_rows, h}, p + "v_proj", t, L.wqkv.get(), (q_rows + kv_rows) * h));
    if (c.attention_bias) {
      AGENTRT_TRY(upload(s.bq, {q_rows}, p + "q_proj.bias", f, L.bqkv.get(), 0));
      AGENTRT_TRY(upload(s.bk, {kv_rows}, p + "k_proj.bias", f, L.bqkv.get(), q_rows));
      AGENTRT_TRY(upload(s.bv, {kv_rows}, p + "v_proj.bias", f, L.bqkv.get(), q_rows + kv_rows));
    }
    if (c.qk_norm) {
      AGENTRT_TRY(upload(s.q_norm, {hd}, p + "q_norm", f, L.q_norm.get(), 0));
      AGENTRT_TRY(upload(s.k_norm, {hd}, p + "k_norm", f, L.k_norm.get(), 0));
    }
    AGENTRT_TRY(upload(s.wo, {h, q_rows}, p + "o_proj", t, L.wo.get(), 0));
    if (c.attention_out_bias) AGENTRT_TRY(upload(s.bo, {h}, p + "o_proj.bias", f, L.bo.get(), 0));
    AGENTRT_TRY(upload(s.ffn_norm, {h}, p + "post_attention_layernorm", f, L.ffn_norm.get(), 0));
    AGENTRT_TRY(upload(s.w_gate, {inter, h}, p + "gate_proj", t, L.w_gate_up.get(), 0));
    AGENTRT_TRY(upload(s.w_up, {inter, h}, p + "up_proj", t, L.w_gate_up.get(), inter * h));
    AGENTRT_TRY(upload(s.w_down, {h, inter}, p + "down_proj", t, L.w_down.get(), 0));
  }
  return ok_status();
}

Status CudaBackend::random_weights(std::uint64_t seed) {
  constexpr float kScale = 0.02f;
  std::uint64_t next = seed;
  auto fill = [&](DeviceBuffer& b, bool is_f32) -> Status {
    if (b.bytes() == 0) return ok_status();
    const Dtype d = is_f32 ? Dtype::f32 : dtype_;
    return cuda_status(
        launch_fill_random(d, b.get(), b.bytes() / dtype_bytes(d), ++next, kScale, stream_),
        "fill_random");
  };
  auto ones = [&](DeviceBuffer& b) -> Status {
    if (b.bytes() == 0) return ok_status();
    return cuda_status(launch_fill_f32(b.get<float>(), b.bytes() / 4, 1.0f, stream_), "fill");
  };
  AGENTRT_TRY(fill(w_.embed, false));
  AGENTRT_TRY(ones(w_.final_norm));
  AGENTRT_TRY(fill(w_.lm_head, false));
  for (Layer& L : w_.layers) {
    AGENTRT_TRY(ones(L.attn_norm));
    AGENTRT_TRY(fill(L.wqkv, false));
    AGENTRT_TRY(fill(L.bqkv, true));
    AGENTRT_TRY(ones(L.q_norm));
    AGENTRT_TRY(ones(L.k_norm));
    AGENTRT_TRY(fill(L.wo, false));
    AGENTRT_TRY(fill(L.bo, true));
    AGENTRT_TRY(ones(L.ffn_norm));
    AGENTRT_TRY(fill(L.w_gate_up, false));
    AGENTRT_TRY(fill(L.w_down, false));
  }
  return cuda_status(cudaStreamSynchronize(stream_), "random weights");
}

}  // namespace agentrt::kernels
