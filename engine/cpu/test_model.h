// Test-only: a small random Llama-family model held in memory (no checkpoint files), so
// backend and generator tests run without Model::load.
#pragma once

#include <cmath>
#include <cstring>
#include <deque>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/model/config.h"
#include "engine/model/dtype.h"
#include "engine/model/weights.h"

namespace agentrt::cpu::testing {

struct TestModelOptions {
  int hidden = 32;
  int layers = 2;
  int heads = 4;
  int kv_heads = 2;
  int vocab = 64;
  int intermediate = 64;
  bool bias = false;
  bool out_bias = false;  // o_proj bias too (needs bias)
  bool qk_norm = false;
  bool llama3_rope = false;
  bool tied = false;
  bool bf16 = false;  // store weights as bf16 (exercises conversion)
  int max_positions = 512;
  std::uint64_t seed = 1;
};

// n tokens drawn uniformly from [0, vocab), fixed by `seed`.
inline std::vector<std::int32_t> random_tokens(std::size_t n, int vocab, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::int32_t> t(n);
  for (auto& x : t)
    x = static_cast<std::int32_t>(rng() % static_cast<std::uint64_t>(vocab));
  return t;
}

struct TestModel {
  model::ModelConfig config;
  model::ModelWeights weights;
  std::deque<model::TensorView> views;  // stable addresses
  std::deque<std::vector<std::byte>> buffers;
};

inline const model::TensorView* add_tensor(TestModel& m, std::mt19937_64& rng,
                                           const std::string& name, std::vector<std::int64_t> shape,
                                           float center, float spread, bool bf16) {
  std::size_t n = 1;
  for (auto d : shape)
    n *= static_cast<std::size_t>(d);
  std::uniform_real_distribution<float> dist(-spread, spread);
  auto& buf = m.buffers.emplace_back(n * (bf16 ? 2 : 4));
  for (std::size_t i = 0; i < n; ++i) {
    const float v = center + dist(rng);
    if (bf16) {
      const std::uint16_t b = model::f32_to_bf16(v);
      std::memcpy(buf.data() + 2 * i, &b, 2);
    } else {
      std::memcpy(buf.data() + 4 * i, &v, 4);
    }
  }
  auto& view = m.views.emplace_back();
  view.name = name;
  view.file = "memory";
  view.dtype = bf16 ? model::DType::bf16 : model::DType::f32;
  view.shape = std::move(shape);
  view.data = std::span<const std::byte>(buf.data(), buf.size());
  return &view;
}

inline std::unique_ptr<TestModel> make_test_model(const TestModelOptions& o) {
  auto m = std::make_unique<TestModel>();
  auto& c = m->config;
  c.arch = o.qk_norm ? model::Architecture::qwen3 : model::Architecture::llama;
  c.vocab_size = o.vocab;
  c.hidden_size = o.hidden;
  c.intermediate_size = o.intermediate;
  c.num_layers = o.layers;
  c.num_heads = o.heads;
  c.num_kv_heads = o.kv_heads;
  c.head_dim = o.hidden / o.heads;
  c.rms_norm_eps = 1e-5;
  c.rope_theta = 10000.0;
  c.max_position_embeddings = o.max_positions;
  c.attention_bias = o.bias;
  c.attention_out_bias = o.bias && o.out_bias;
  c.qk_norm = o.qk_norm;
  c.tie_word_embeddings = o.tied;
  c.eos_token_ids = {o.vocab - 1};
  if (o.llama3_rope) {
    c.rope_scaling.type = model::RopeScaling::Type::llama3;
    c.rope_scaling.factor = 8.0;
    c.rope_scaling.low_freq_factor = 1.0;
    c.rope_scaling.high_freq_factor = 4.0;
    c.rope_scaling.original_max_position_embeddings = 64;  // puts bands inside head_dim 8
  }
  std::mt19937_64 rng(o.seed);
  const std::int64_t h = o.hidden, hd = c.head_dim, q = o.heads * hd, kv = o.kv_heads * hd;
  const float ws = 0.5f / std::sqrt(static_cast<float>(h));
  auto add = [&](const std::string& name, std::vector<std::int64_t> shape, float center,
                 float spread) {
    return add_tensor(*m, rng, name, std::move(shape), center, spread, o.bf16);
  };
  auto& w = m->weights;
  w.embed = add("model.embed_tokens.weight", {o.vocab, h}, 0.0f, 1.0f);
  for (int l = 0; l < o.layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    auto& L = w.layers.emplace_back();
    L.attn_norm = add(p + "input_layernorm.weight", {h}, 1.0f, 0.2f);
    L.wq = add(p + "self_attn.q_proj.weight", {q, h}, 0.0f, 3 * ws);
    L.wk = add(p + "self_attn.k_proj.weight", {kv, h}, 0.0f, 3 * ws);
    L.wv = add(p + "self_attn.v_proj.weight", {kv, h}, 0.0f, 3 * ws);
    L.wo = add(p + "self_attn.o_proj.weight", {h, q}, 0.0f, 3 * ws);
    if (o.bias) {
      L.bq = add(p + "self_attn.q_proj.bias", {q}, 0.0f, 0.3f);
      L.bk = add(p + "self_attn.k_proj.bias", {kv}, 0.0f, 0.3f);
      L.bv = add(p + "self_attn.v_proj.bias", {kv}, 0.0f, 0.3f);
      if (o.out_bias) L.bo = add(p + "self_attn.o_proj.bias", {h}, 0.0f, 0.3f);
    }
    if (o.qk_norm) {
      L.q_norm = add(p + "self_attn.q_norm.weight", {hd}, 1.0f, 0.3f);
      L.k_norm = add(p + "self_attn.k_norm.weight", {hd}, 1.0f, 0.3f);
    }
    L.ffn_norm = add(p + "post_attention_layernorm.weight", {h}, 1.0f, 0.2f);
    L.w_gate = add(p + "mlp.gate_proj.weight", {o.intermediate, h}, 0.0f, 3 * ws);
    L.w_up = add(p + "mlp.up_proj.weight", {o.intermediate, h}, 0.0f, 3 * ws);
    L.w_down = add(p + "mlp.down_proj.weight", {h, o.intermediate}, 0.0f,
                   1.5f / std::sqrt(static_cast<float>(o.intermediate)));
  }
  w.final_norm = add("model.norm.weight", {h}, 1.0f, 0.2f);
  w.lm_head = o.tied ? w.embed : add("lm_head.weight", {o.vocab, h}, 0.0f, 3 * ws);
  return m;
}

}  // namespace agentrt::cpu::testing
