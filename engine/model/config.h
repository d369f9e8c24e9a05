// ModelConfig: the subset of a Hugging Face config.json that the engine honours.
// Anything the engine cannot honour (sliding windows, unknown rope scaling, a non-SiLU MLP)
// is rejected at parse time with the JSON pointer of the field.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "engine/common/result.h"

namespace agentrt::model {

enum class Architecture { llama, qwen2, qwen3, mistral };

std::string_view architecture_name(Architecture arch);  // "LlamaForCausalLM", ...

struct RopeScaling {
  enum class Type { none, llama3 };
  Type type = Type::none;
  double factor = 1.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int original_max_position_embeddings = 8192;
};

struct ModelConfig {
  Architecture arch = Architecture::llama;
  int vocab_size = 0;
  int hidden_size = 0;
  int intermediate_size = 0;
  int num_layers = 0;
  int num_heads = 0;
  int num_kv_heads = 0;  // == num_heads when the config omits it
  int head_dim = 0;      // hidden_size / num_heads unless config.json overrides it
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  int max_position_embeddings = 2048;
  bool tie_word_embeddings = false;
  bool attention_bias = false;  // q/k/v projections carry a bias (Qwen2; Llama's attention_bias)
  // o_proj carries a bias too: Llama's and Qwen3's attention_bias covers q/k/v/o, while Qwen2
  // biases only q/k/v. True only together with attention_bias.
  bool attention_out_bias = false;
  bool qk_norm = false;  // per-head RMSNorm on q and k before RoPE (Qwen3)
  int bos_token_id = -1;
  std::vector<int> eos_token_ids;
  std::string torch_dtype;  // informational ("torch_dtype", or "dtype" in transformers v5)
  // Mistral's uniform sliding window (0 = none). Within the window full attention is exact,
  // so the engine honours it by never letting a sequence grow past max_context().
  int sliding_window = 0;

  // The longest sequence the engine may run: max_position_embeddings, capped by
  // sliding_window when one is set.
  int max_context() const;

  // Canonical JSON of every field above (sorted keys); input to the fingerprint.
  std::string canonical_json() const;
};

// Parses config.json text. Accepts both the transformers v4 spelling (rope_theta, rope_scaling,
// torch_dtype) and the v5 one (rope_parameters, dtype). Rejects, naming the field's JSON
// pointer: unknown architectures, rope types other than default/llama3, non-SiLU activations,
// per-layer sliding windows, MLP biases, missing or non-positive sizes, and head counts that
// do not divide. file_name is used in messages: "config.json: /rope_scaling/rope_type:
// 'yarn' is not supported (supported: llama3)".
Result<ModelConfig> parse_config(std::string_view json_text, std::string_view file_name);
// Reads and parses DIR/config.json.
Result<ModelConfig> load_config(const std::filesystem::path& model_dir);

}  // namespace agentrt::model
