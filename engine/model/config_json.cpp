// config.h: ModelConfig::canonical_json, the config's part of the model fingerprint.
#include <nlohmann/json.hpp>

#include "engine/model/config.h"

namespace agentrt::model {

std::string ModelConfig::canonical_json() const {
  // nlohmann::json objects are std::maps: keys come out sorted, so the text is stable.
  nlohmann::json rope = {
      {"type", rope_scaling.type == RopeScaling::Type::llama3 ? "llama3" : "none"},
      {"factor", rope_scaling.factor},
      {"low_freq_factor", rope_scaling.low_freq_factor},
      {"high_freq_factor", rope_scaling.high_freq_factor},
      {"original_max_position_embeddings", rope_scaling.original_max_position_embeddings},
  };
  nlohmann::json j = {
      {"arch", architecture_name(arch)},
      {"vocab_size", vocab_size},
      {"hidden_size", hidden_size},
      {"intermediate_size", intermediate_size},
      {"num_layers", num_layers},
      {"num_heads", num_heads},
      {"num_kv_heads", num_kv_heads},
      {"head_dim", head_dim},
      {"rms_norm_eps", rms_norm_eps},
      {"rope_theta", rope_theta},
      {"rope_scaling", rope},
      {"max_position_embeddings", max_position_embeddings},
      {"tie_word_embeddings", tie_word_embeddings},
      {"attention_bias", attention_bias},
      {"attention_out_bias", attention_out_bias},
      {"qk_norm", qk_norm},
      {"bos_token_id", bos_token_id},
      {"eos_token_ids", eos_token_ids},
      {"torch_dtype", torch_dtype},
      {"sliding_window", sliding_window},
  };
  return j.dump();
}

}  // namespace agentrt::model
