// Rope settings of config.json, in both spellings: transformers v4 (top-level rope_theta plus
// a rope_scaling object keyed by "rope_type" or legacy "type") and v5 (one rope_parameters
// object holding rope_type, rope_theta and the scaling fields). Private to config.cpp.
#pragma once

#include "engine/common/result.h"
#include "engine/model/config.h"
#include "engine/model/json_fields.h"

namespace agentrt::model {

// Fills c.rope_theta and c.rope_scaling. Rope types other than default (or absent/null) and
// llama3 are rejected: "config.json: /rope_scaling/rope_type: 'yarn' is not supported
// (supported: llama3)".
Status parse_rope(const JsonFields& config, ModelConfig& c);

}  // namespace agentrt::model
