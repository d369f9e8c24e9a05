// rope_config.h: rope_theta and llama3 rope scaling, v4 and v5 spellings.
#include "engine/model/rope_config.h"

#include <string>

namespace agentrt::model {
namespace {

Result<double> required_positive_number(const JsonFields& f, std::string_view key) {
  if (f.find(key) == nullptr) return f.error(ErrorCode::parse, key, "missing (a positive number)");
  return f.positive_number_or(key, 0.0);
}

Status parse_llama3(const JsonFields& f, RopeScaling& out) {
  auto factor = required_positive_number(f, "factor");
  AGENTRT_TRY(factor);
  auto low = required_positive_number(f, "low_freq_factor");
  AGENTRT_TRY(low);
  auto high = required_positive_number(f, "high_freq_factor");
  AGENTRT_TRY(high);
  auto original = f.required_positive_int("original_max_position_embeddings");
  AGENTRT_TRY(original);
  if (*high <= *low) {
    return f.error(ErrorCode::parse, "high_freq_factor",
                   "must be greater than low_freq_factor (" + std::to_string(*low) + ")");
  }
  out.type = RopeScaling::Type::llama3;
  out.factor = *factor;
  out.low_freq_factor = *low;
  out.high_freq_factor = *high;
  out.original_max_position_embeddings = *original;
  return ok_status();
}

// One rope_scaling (v4) or rope_parameters (v5) object.
Status parse_scaling(const JsonFields& f, RopeScaling& out) {
  const char* key = f.find("rope_type") != nullptr ? "rope_type" : "type";
  auto type = f.optional_string(key);
  AGENTRT_TRY(type);
  if (!type->has_value() || **type == "default") return ok_status();
  if (**type == "llama3") return parse_llama3(f, out);
  return f.error(ErrorCode::unsupported, key,
                 "'" + **type + "' is not supported (supported: llama3)");
}

}  // namespace

Status parse_rope(const JsonFields& config, ModelConfig& c) {
  auto theta = config.positive_number_or("rope_theta", c.rope_theta);
  AGENTRT_TRY(theta);
  c.rope_theta = *theta;
  auto params = config.optional_object("rope_parameters");
  AGENTRT_TRY(params);
  if (params->has_value()) {
    const JsonFields& p = **params;
    for (const char* layer_type : {"full_attention", "sliding_attention"}) {
      if (p.find(layer_type) != nullptr) {
        return p.error(ErrorCode::unsupported, layer_type,
                       "per-layer-type rope parameters are not supported");
      }
    }
    auto v5_theta = p.positive_number_or("rope_theta", c.rope_theta);
    AGENTRT_TRY(v5_theta);
    c.rope_theta = *v5_theta;
    return parse_scaling(p, c.rope_scaling);
  }
  auto scaling = config.optional_object("rope_scaling");
  AGENTRT_TRY(scaling);
  if (scaling->has_value()) return parse_scaling(**scaling, c.rope_scaling);
  return ok_status();
}

}  // namespace agentrt::model
