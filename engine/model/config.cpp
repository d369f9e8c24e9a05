// config.h: parsing config.json into ModelConfig. Each parse_* step reads one concern and
// rejects what the engine cannot honour, naming the field's JSON pointer.
#include "engine/model/config.h"

#include <algorithm>
#include <array>
#include <utility>

#include "engine/model/json_fields.h"
#include "engine/model/rope_config.h"
#include "engine/model/strict_json.h"

namespace agentrt::model {
namespace {

using nlohmann::json;

constexpr std::array<std::pair<Architecture, std::string_view>, 4> kArchitectures = {{
    {Architecture::llama, "LlamaForCausalLM"},
    {Architecture::qwen2, "Qwen2ForCausalLM"},
    {Architecture::qwen3, "Qwen3ForCausalLM"},
    {Architecture::mistral, "MistralForCausalLM"},
}};
// model_type spellings, used only when "architectures" is absent.
constexpr std::array<std::pair<Architecture, std::string_view>, 4> kModelTypes = {{
    {Architecture::llama, "llama"},
    {Architecture::qwen2, "qwen2"},
    {Architecture::qwen3, "qwen3"},
    {Architecture::mistral, "mistral"},
}};

std::string supported_architectures() {
  std::string out;
  for (const auto& [arch, name] : kArchitectures)
    out += (out.empty() ? "" : ", ") + std::string(name);
  return out;
}

Result<Architecture> parse_architecture(const JsonFields& f) {
  const json* list = f.find("architectures");
  if (list == nullptr) {
    auto model_type = f.optional_string("model_type");
    AGENTRT_TRY(model_type);
    for (const auto& [arch, name] : kModelTypes) {
      if (model_type->has_value() && **model_type == name) return arch;
    }
    return f.error(ErrorCode::parse, "architectures",
                   "missing (supported: " + supported_architectures() + ")");
  }
  if (!list->is_array() || list->empty() || !(*list)[0].is_string()) {
    return f.error(ErrorCode::parse, "architectures", "expected a non-empty list of strings");
  }
  const auto& name = (*list)[0].get_ref<const std::string&>();
  for (const auto& [arch, arch_name] : kArchitectures) {
    if (name == arch_name) return arch;
  }
  return f.error(ErrorCode::unsupported, "architectures", 0,
                 "'" + name + "' is not supported (supported: " + supported_architectures() + ")");
}

Status parse_sizes(const JsonFields& f, ModelConfig& c) {
  auto read = [&f](std::string_view key, int& out) -> Status {
    auto v = f.required_positive_int(key);
    AGENTRT_TRY(v);
    out = *v;
    return ok_status();
  };
  AGENTRT_TRY(read("vocab_size", c.vocab_size));
  AGENTRT_TRY(read("hidden_size", c.hidden_size));
  AGENTRT_TRY(read("intermediate_size", c.intermediate_size));
  AGENTRT_TRY(read("num_hidden_layers", c.num_layers));
  AGENTRT_TRY(read("num_attention_heads", c.num_heads));
  auto kv_heads = f.positive_int_or("num_key_value_heads", c.num_heads);
  AGENTRT_TRY(kv_heads);
  c.num_kv_heads = *kv_heads;
  if (c.num_heads % c.num_kv_heads != 0) {
    return f.error(ErrorCode::parse, "num_key_value_heads",
                   "num_attention_heads " + std::to_string(c.num_heads) +
                       " is not divisible by num_key_value_heads " +
                       std::to_string(c.num_kv_heads));
  }
  if (f.find("head_dim") != nullptr) return read("head_dim", c.head_dim);
  if (c.hidden_size % c.num_heads != 0) {
    return f.error(ErrorCode::parse, "hidden_size",
                   "hidden_size " + std::to_string(c.hidden_size) +
                       " is not divisible by num_attention_heads " + std::to_string(c.num_heads) +
                       " (and head_dim is absent)");
  }
  c.head_dim = c.hidden_size / c.num_heads;
  return ok_status();
}

Status parse_scalars(const JsonFields& f, ModelConfig& c) {
  auto eps = f.positive_number_or("rms_norm_eps", c.rms_norm_eps);
  AGENTRT_TRY(eps);
  c.rms_norm_eps = *eps;
  auto max_pos = f.positive_int_or("max_position_embeddings", c.max_position_embeddings);
  AGENTRT_TRY(max_pos);
  c.max_position_embeddings = *max_pos;
  auto tie = f.bool_or("tie_word_embeddings", false);
  AGENTRT_TRY(tie);
  c.tie_word_embeddings = *tie;
  return ok_status();
}

Status parse_attention(const JsonFields& f, ModelConfig& c) {
  auto act = f.optional_string("hidden_act");
  AGENTRT_TRY(act);
  if (act->has_value() && **act != "silu") {
    return f.error(ErrorCode::unsupported, "hidden_act",
                   "'" + **act + "' is not supported (supported: silu)");
  }
  auto mlp_bias = f.bool_or("mlp_bias", false);
  AGENTRT_TRY(mlp_bias);
  if (*mlp_bias) return f.error(ErrorCode::unsupported, "mlp_bias", "MLP biases are not supported");
  auto bias = f.bool_or("attention_bias", false);
  AGENTRT_TRY(bias);
  switch (c.arch) {
    case Architecture::qwen2:
      c.attention_bias = true;
      break;  // q/k/v only, always
    case Architecture::llama:
    case Architecture::qwen3:
      c.attention_bias = c.attention_out_bias = *bias;
      break;
    case Architecture::mistral:
      break;  // Mistral has no attention bias
  }
  c.qk_norm = c.arch == Architecture::qwen3;
  return ok_status();
}

Status parse_sliding_window(const JsonFields& f, ModelConfig& c) {
  if (const json* types = f.find("layer_types")) {
    if (!types->is_array()) return f.error(ErrorCode::parse, "layer_types", "expected a list");
    for (std::size_t i = 0; i < types->size(); ++i) {
      const json& t = (*types)[i];
      if (!t.is_string() || t.get_ref<const std::string&>() != "full_attention") {
        const std::string shown = t.is_string() ? t.get<std::string>() : "a non-string";
        return f.error(ErrorCode::unsupported, "layer_types", i,
                       "'" + shown + "' layers are not supported (supported: full_attention)");
      }
    }
  }
  if (c.arch == Architecture::qwen2 || c.arch == Architecture::qwen3) {
    auto use = f.bool_or("use_sliding_window", false);
    AGENTRT_TRY(use);
    if (*use) {
      return f.error(ErrorCode::unsupported, "use_sliding_window",
                     "per-layer sliding-window attention is not supported");
    }
    return ok_status();  // sliding_window is ignored while use_sliding_window is false
  }
  if (c.arch == Architecture::mistral) {
    auto window = f.positive_int_or("sliding_window", 0);
    AGENTRT_TRY(window);
    c.sliding_window = *window;
  }
  return ok_status();
}

Status parse_tokens(const JsonFields& f, ModelConfig& c) {
  auto bos = f.optional_int("bos_token_id");
  AGENTRT_TRY(bos);
  c.bos_token_id = bos->value_or(-1);
  if (const json* eos = f.find("eos_token_id")) {
    // No copy of eos into a list: copying a json value recurses, and the input is untrusted.
    const bool is_list = eos->is_array();
    const std::size_t count = is_list ? eos->size() : 1;
    for (std::size_t i = 0; i < count; ++i) {
      const std::optional<int> v = json_to_int(is_list ? (*eos)[i] : *eos);
      if (!v || *v < 0) {
        return f.error(ErrorCode::parse, "eos_token_id",
                       "expected a token id or a list of token ids");
      }
      c.eos_token_ids.push_back(*v);
    }
  }
  for (const char* key : {"torch_dtype", "dtype"}) {  // informational: non-strings are ignored
    const json* v = f.find(key);
    if (v != nullptr && v->is_string() && c.torch_dtype.empty())
      c.torch_dtype = v->get<std::string>();
  }
  return ok_status();
}

Result<ModelConfig> parse_config_json(const Result<nlohmann::json>& root,
                                      std::string_view file_name) {
  AGENTRT_TRY(root);
  if (!root->is_object()) {
    return make_error(ErrorCode::parse, std::string(file_name) + ": expected a JSON object");
  }
  const JsonFields f(*root, std::string(file_name));
  ModelConfig c;
  auto arch = parse_architecture(f);
  AGENTRT_TRY(arch);
  c.arch = *arch;
  AGENTRT_TRY(parse_sizes(f, c));
  AGENTRT_TRY(parse_scalars(f, c));
  AGENTRT_TRY(parse_attention(f, c));
  AGENTRT_TRY(parse_rope(f, c));
  AGENTRT_TRY(parse_sliding_window(f, c));
  AGENTRT_TRY(parse_tokens(f, c));
  return c;
}

}  // namespace

std::string_view architecture_name(Architecture arch) {
  for (const auto& [a, name] : kArchitectures) {
    if (a == arch) return name;
  }
  return "?";
}

int ModelConfig::max_context() const {
  return sliding_window > 0 ? std::min(max_position_embeddings, sliding_window)
                            : max_position_embeddings;
}

Result<ModelConfig> parse_config(std::string_view json_text, std::string_view file_name) {
  return parse_config_json(parse_strict_json(json_text, file_name), file_name);
}

Result<ModelConfig> load_config(const std::filesystem::path& model_dir) {
  return parse_config_json(read_strict_json_file(model_dir / "config.json", "config.json"),
                           "config.json");
}

}  // namespace agentrt::model
