// The sampling flags of `agentrt generate` as given on the command line, and their parsing
// into SamplingParams with the bounds of flag_limits.h.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "engine/common/result.h"
#include "engine/sampling/sampling_params.h"

namespace agentrt::cli::flags {

// Each field holds its flag's text when the flag was given.
struct SamplingFlags {
  std::optional<std::string> max_tokens;
  std::optional<std::string> temperature;
  std::optional<std::string> top_k;
  std::optional<std::string> top_p;
  std::optional<std::string> min_p;
  std::optional<std::string> repetition_penalty;
  std::optional<std::string> presence_penalty;
  std::optional<std::string> frequency_penalty;
  std::optional<std::string> seed;
  std::optional<std::string> logprobs;
  std::vector<std::string> stop_token_ids;  // every --stop-token-id value
};

// Sets the fields of `params` whose flags were given; the others keep their values. Errors
// (invalid_argument): the first flag that does not parse or is out of bounds, by name.
[[nodiscard]] Status apply_sampling_flags(const SamplingFlags& flags,
                                          sampling::SamplingParams& params);

}  // namespace agentrt::cli::flags
