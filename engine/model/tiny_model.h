// Test support: temporary directories and tiny random-weight Hugging Face model directories
// (config.json + safetensors), built programmatically. Header-only; used by *.test.cpp.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "engine/model/config.h"
#include "engine/model/safetensors_writer.h"

namespace agentrt::model::testing {

// A fresh directory under the system temp dir, removed with its contents on destruction.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "agentrt-model-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A valid config.json for arch with tiny sizes: 2 layers, 4 heads sharing 2 KV heads.
inline nlohmann::json tiny_config_json(Architecture arch) {
  nlohmann::json j = {
      {"architectures", {std::string(architecture_name(arch))}},
      {"vocab_size", 32},
      {"hidden_size", 16},
      {"intermediate_size", 24},
      {"num_hidden_layers", 2},
      {"num_attention_heads", 4},
      {"num_key_value_heads", 2},
      {"max_position_embeddings", 128},
      {"rms_norm_eps", 1e-5},
      {"rope_theta", 10000.0},
      {"hidden_act", "silu"},
      {"tie_word_embeddings", false},
      {"bos_token_id", 1},
      {"eos_token_id", 2},
      {"torch_dtype", "float32"},
  };
  return j;
}

inline std::string random_bytes(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out(n, '\0');
  for (char& c : out)
    c = static_cast<char>(rng() & 0xff);
  return out;
}

// A tensor of `shape` holding small random values stored as dtype.
inline TensorData random_tensor(const std::string& name, std::vector<std::int64_t> shape,
                                DType dtype, std::uint32_t seed) {
  std::int64_t numel = 1;
  for (std::int64_t d : shape)
    numel *= d;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-0.5f, 0.5f);
  std::string bytes;
  for (std::int64_t i = 0; i < numel; ++i) {
    const float v = dist(rng);
    if (dtype == DType::f32) {
      bytes.append(reinterpret_cast<const char*>(&v), sizeof(v));
    } else {
      const std::uint16_t h = dtype == DType::f16 ? f32_to_f16(v) : f32_to_bf16(v);
      bytes.append(reinterpret_cast<const char*>(&h), sizeof(h));
    }
  }
  return TensorData{name, dtype, std::move(shape), std::move(bytes)};
}

// Every tensor bind_weights expects for config c (lm_head omitted when tied).
inline std::vector<TensorData> tiny_tensors(const ModelConfig& c, DType dtype = DType::f32) {
  const std::int64_t h = c.hidden_size, q = std::int64_t{c.num_heads} * c.head_dim;
  const std::int64_t kv = std::int64_t{c.num_kv_heads} * c.head_dim, ff = c.intermediate_size;
  std::vector<TensorData> out;
  std::uint32_t seed = 1;
  auto add = [&](const std::string& name, std::vector<std::int64_t> shape) {
    out.push_back(random_tensor(name, std::move(shape), dtype, seed++));
  };
  add("model.embed_tokens.weight", {c.vocab_size, h});
  for (int i = 0; i < c.num_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    add(p + "input_layernorm.weight", {h});
    add(p + "self_attn.q_proj.weight", {q, h});
    add(p + "self_attn.k_proj.weight", {kv, h});
    add(p + "self_attn.v_proj.weight", {kv, h});
    add(p + "self_attn.o_proj.weight", {h, q});
    if (c.attention_bias) {
      add(p + "self_attn.q_proj.bias", {q});
      add(p + "self_attn.k_proj.bias", {kv});
      add(p + "self_attn.v_proj.bias", {kv});
    }
    if (c.attention_out_bias) add(p + "self_attn.o_proj.bias", {h});
    if (c.qk_norm) {
      add(p + "self_attn.q_norm.weight", {c.head_dim});
      add(p + "self_attn.k_norm.weight", {c.head_dim});
    }
    add(p + "post_attention_layernorm.weight", {h});
    add(p + "mlp.gate_proj.weight", {ff, h});
    add(p + "mlp.up_proj.weight", {ff, h});
    add(p + "mlp.down_proj.weight", {h, ff});
  }
  add("model.norm.weight", {h});
  if (!c.tie_word_embeddings) add("lm_head.weight", {c.vocab_size, h});
  return out;
}

// Writes config.json and a single model.safetensors into dir.
inline Status write_model_dir(const std::filesystem::path& dir, const nlohmann::json& config,
                              const std::vector<TensorData>& tensors) {
  AGENTRT_TRY(write_text_file(dir / "config.json", config.dump(2)));
  return write_safetensors(dir / "model.safetensors", tensors);
}

// Writes config.json, the tensors split into `shards` files and model.safetensors.index.json.
inline Status write_sharded_model_dir(const std::filesystem::path& dir,
                                      const nlohmann::json& config,
                                      const std::vector<TensorData>& tensors, int shards) {
  AGENTRT_TRY(write_text_file(dir / "config.json", config.dump(2)));
  nlohmann::json weight_map = nlohmann::json::object();
  for (int s = 0; s < shards; ++s) {
    char name[64];
    std::snprintf(name, sizeof(name), "model-%05d-of-%05d.safetensors", s + 1, shards);
    std::vector<TensorData> part;
    for (std::size_t i = static_cast<std::size_t>(s); i < tensors.size(); i += shards) {
      part.push_back(tensors[i]);
      weight_map[tensors[i].name] = name;
    }
    AGENTRT_TRY(write_safetensors(dir / name, part));
  }
  const nlohmann::json index = {{"metadata", {{"total_size", 0}}}, {"weight_map", weight_map}};
  return write_text_file(dir / "model.safetensors.index.json", index.dump(2));
}

}  // namespace agentrt::model::testing
