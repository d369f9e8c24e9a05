#include "engine/sampling/sampling_params.h"

#include <cmath>
#include <cstdio>
#include <string>

namespace agentrt::sampling {
namespace {

Status bad(const std::string& field, const std::string& rule, double got) {
  char text[32];
  // Integers in full; floats as a float holds them (1e-38 stays 1e-38, not 0.000000).
  if (std::isfinite(got) && got == std::trunc(got) && std::fabs(got) < 1e15) {
    std::snprintf(text, sizeof(text), "%.0f", got);
  } else {
    std::snprintf(text, sizeof(text), "%.6g", got);
  }
  return make_error(ErrorCode::invalid_argument, field + ": must be " + rule + ", got " + text);
}

}  // namespace

Status SamplingParams::validate() const {
  if (!std::isfinite(temperature) || temperature < 0.0f) {
    return bad("temperature", ">= 0", temperature);
  }
  if (top_k < 0) return bad("top_k", ">= 0", top_k);
  if (!(top_p > 0.0f && top_p <= 1.0f)) return bad("top_p", "in (0, 1]", top_p);
  if (!(min_p >= 0.0f && min_p <= 1.0f)) return bad("min_p", "in [0, 1]", min_p);
  if (!(repetition_penalty > 0.0f) || !std::isfinite(repetition_penalty)) {
    return bad("repetition_penalty", "> 0", repetition_penalty);
  }
  if (!(presence_penalty >= -2.0f && presence_penalty <= 2.0f)) {
    return bad("presence_penalty", "in [-2, 2]", presence_penalty);
  }
  if (!(frequency_penalty >= -2.0f && frequency_penalty <= 2.0f)) {
    return bad("frequency_penalty", "in [-2, 2]", frequency_penalty);
  }
  if (max_tokens < 1) return bad("max_tokens", ">= 1", max_tokens);
  if (logprobs < -1 || logprobs > 20) return bad("logprobs", "in [-1, 20]", logprobs);
  if (stop_token_ids.size() > kMaxStopTokenIds) {
    return bad("stop_token_ids", "at most " + std::to_string(kMaxStopTokenIds) + " ids",
               static_cast<double>(stop_token_ids.size()));
  }
  if (stop_strings.size() > kMaxStopStrings) {
    return bad("stop_strings", "at most " + std::to_string(kMaxStopStrings) + " strings",
               static_cast<double>(stop_strings.size()));
  }
  for (std::size_t i = 0; i < stop_token_ids.size(); ++i) {
    if (stop_token_ids[i] < 0) {
      return bad("stop_token_ids/" + std::to_string(i), ">= 0", stop_token_ids[i]);
    }
  }
  for (std::size_t i = 0; i < stop_strings.size(); ++i) {
    if (stop_strings[i].empty()) {
      return make_error(ErrorCode::invalid_argument,
                        "stop_strings/" + std::to_string(i) + ": must not be empty");
    }
    if (stop_strings[i].size() > kMaxStopStringBytes) {
      return bad("stop_strings/" + std::to_string(i),
                 "at most " + std::to_string(kMaxStopStringBytes) + " bytes",
                 static_cast<double>(stop_strings[i].size()));
    }
  }
  return ok_status();
}

std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t index) {
  std::uint64_t z = seed + 0x9e3779b97f4a7c15ull * (index + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace agentrt::sampling
