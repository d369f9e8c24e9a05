#include "bench/synthetic_model.h"

#include <cstring>
#include <nlohmann/json.hpp>
#include <random>
#include <vector>

#include "engine/model/safetensors_writer.h"

namespace agentrt::bench {
namespace {

struct Shape {
  std::string arch;
  int vocab, hidden, inter, layers, heads, kv_heads;
  bool bias, tied;
  double theta;
};

Result<Shape> find_shape(const std::string& name) {
  // Published config.json values of Qwen2.5-0.5B.
  if (name == "qwen2.5-0.5b") {
    return Shape{"Qwen2ForCausalLM", 151936, 896, 4864, 24, 14, 2, true, true, 1000000.0};
  }
  return make_error(ErrorCode::invalid_argument,
                    "unknown shape '" + name + "' (known: qwen2.5-0.5b)");
}

model::TensorData random_tensor(const std::string& name, std::vector<std::int64_t> shape,
                                std::mt19937& rng, float scale) {
  std::int64_t n = 1;
  for (auto d : shape)
    n *= d;
  std::string bytes(static_cast<std::size_t>(n) * 2, '\0');
  std::uniform_real_distribution<float> dist(-scale, scale);
  for (std::int64_t i = 0; i < n; ++i) {
    std::uint16_t v = model::f32_to_bf16(dist(rng));
    std::memcpy(bytes.data() + i * 2, &v, 2);
  }
  return {name, model::DType::bf16, std::move(shape), std::move(bytes)};
}

}  // namespace

Status write_synthetic_model(const std::string& shape_name, const std::filesystem::path& dir) {
  if (std::filesystem::exists(dir / "config.json")) return ok_status();
  auto s = find_shape(shape_name);
  if (!s.ok()) return s.error();
  std::filesystem::create_directories(dir);
  const int hd = s->hidden / s->heads;
  const std::int64_t q = static_cast<std::int64_t>(s->heads) * hd;
  const std::int64_t kv = static_cast<std::int64_t>(s->kv_heads) * hd;
  std::mt19937 rng(42);
  std::vector<model::TensorData> t;
  t.push_back(random_tensor("model.embed_tokens.weight", {s->vocab, s->hidden}, rng, 0.05f));
  for (int l = 0; l < s->layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    t.push_back(random_tensor(p + "input_layernorm.weight", {s->hidden}, rng, 1.0f));
    t.push_back(random_tensor(p + "self_attn.q_proj.weight", {q, s->hidden}, rng, 0.05f));
    t.push_back(random_tensor(p + "self_attn.k_proj.weight", {kv, s->hidden}, rng, 0.05f));
    t.push_back(random_tensor(p + "self_attn.v_proj.weight", {kv, s->hidden}, rng, 0.05f));
    if (s->bias) {
      t.push_back(random_tensor(p + "self_attn.q_proj.bias", {q}, rng, 0.05f));
      t.push_back(random_tensor(p + "self_attn.k_proj.bias", {kv}, rng, 0.05f));
      t.push_back(random_tensor(p + "self_attn.v_proj.bias", {kv}, rng, 0.05f));
    }
    t.push_back(random_tensor(p + "self_attn.o_proj.weight", {s->hidden, q}, rng, 0.05f));
    t.push_back(random_tensor(p + "post_attention_layernorm.weight", {s->hidden}, rng, 1.0f));
    t.push_back(random_tensor(p + "mlp.gate_proj.weight", {s->inter, s->hidden}, rng, 0.05f));
    t.push_back(random_tensor(p + "mlp.up_proj.weight", {s->inter, s->hidden}, rng, 0.05f));
    t.push_back(random_tensor(p + "mlp.down_proj.weight", {s->hidden, s->inter}, rng, 0.05f));
  }
  t.push_back(random_tensor("model.norm.weight", {s->hidden}, rng, 1.0f));
  if (!s->tied) t.push_back(random_tensor("lm_head.weight", {s->vocab, s->hidden}, rng, 0.05f));
  AGENTRT_TRY(model::write_safetensors(dir / "model.safetensors", t));
  nlohmann::json cfg = {{"architectures", {s->arch}},
                        {"vocab_size", s->vocab},
                        {"hidden_size", s->hidden},
                        {"intermediate_size", s->inter},
                        {"num_hidden_layers", s->layers},
                        {"num_attention_heads", s->heads},
                        {"num_key_value_heads", s->kv_heads},
                        {"max_position_embeddings", 32768},
                        {"rms_norm_eps", 1e-6},
                        {"rope_theta", s->theta},
                        {"hidden_act", "silu"},
                        {"tie_word_embeddings", s->tied},
                        {"use_sliding_window", false},
                        {"eos_token_id", 151643},
                        {"torch_dtype", "bfloat16"}};
  return model::write_text_file(dir / "config.json", cfg.dump(2));
}

}  // namespace agentrt::bench
