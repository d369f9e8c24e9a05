// Published config.json values of the models whose shapes the CUDA benchmarks run with
// random weights.
#pragma once

#include <string>

#include "engine/common/result.h"
#include "engine/model/config.h"

namespace agentrt::bench {

// "qwen2.5-0.5b" or "llama-3.1-8b".
inline Result<model::ModelConfig> shape_config(const std::string& name) {
  if (name == "qwen2.5-0.5b") {
    return model::parse_config(R"({"architectures": ["Qwen2ForCausalLM"], "vocab_size": 151936,
      "hidden_size": 896, "intermediate_size": 4864, "num_hidden_layers": 24,
      "num_attention_heads": 14, "num_key_value_heads": 2, "rms_norm_eps": 1e-6,
      "rope_theta": 1000000.0, "max_position_embeddings": 32768, "tie_word_embeddings": true,
      "hidden_act": "silu", "torch_dtype": "bfloat16"})",
                               "qwen2.5-0.5b/config.json");
  }
  if (name == "llama-3.1-8b") {
    return model::parse_config(R"({"architectures": ["LlamaForCausalLM"], "vocab_size": 128256,
      "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
      "num_attention_heads": 32, "num_key_value_heads": 8, "rms_norm_eps": 1e-5,
      "rope_theta": 500000.0, "max_position_embeddings": 131072, "tie_word_embeddings": false,
      "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                       "high_freq_factor": 4.0, "original_max_position_embeddings": 8192},
      "hidden_act": "silu", "torch_dtype": "bfloat16"})",
                               "llama-3.1-8b/config.json");
  }
  return make_error(ErrorCode::invalid_argument,
                    "unknown shape '" + name + "' (known: qwen2.5-0.5b, llama-3.1-8b)");
}

}  // namespace agentrt::bench
