// SamplingParams: how to pick each next token and when to stop, per request.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/common/result.h"
#include "engine/sampling/constraint.h"

namespace agentrt::sampling {

// Temperatures below this sample greedily (argmax, as temperature 0): dividing logits by a
// tiny or subnormal temperature overflows them to infinity, which would make the draw
// degenerate (it always picked the last id). vLLM uses the same threshold.
inline constexpr float kGreedyTemperature = 1e-5f;

// Most stop strings and stop token ids per request, and bytes per stop string: the stop
// matcher scans every string at every token.
inline constexpr std::size_t kMaxStopStrings = 64;
inline constexpr std::size_t kMaxStopStringBytes = 1024;
inline constexpr std::size_t kMaxStopTokenIds = 1024;

struct SamplingParams {
  float temperature = 1.0f;           // 0 (or below kGreedyTemperature) = greedy
  int top_k = 0;                      // 0 = off
  float top_p = 1.0f;                 // 1 = off
  float min_p = 0.0f;                 // 0 = off; keeps tokens with p >= min_p * p_max
  float repetition_penalty = 1.0f;    // HF style, over prompt and output tokens; 1 = off
  float presence_penalty = 0.0f;      // OpenAI style, over output tokens
  float frequency_penalty = 0.0f;     // OpenAI style, over output tokens
  std::optional<std::uint64_t> seed;  // same seed, same params, same logits -> same tokens
  int max_tokens = 16;
  std::vector<std::int32_t> stop_token_ids;  // in addition to the model's EOS ids
  std::vector<std::string> stop_strings;     // matched on detokenized output text
  bool ignore_eos = false;
  int logprobs = -1;  // -1: none; 0: chosen token's logprob; k > 0: also the top-k
  // Structured output: when set, only tokens the constraint allows are sampled (e.g. JSON of
  // a schema, grammar::JsonSchemaConstraint), and its end tokens only once the output is
  // complete. Shared, immutable: copying params copies the pointer. Host sampling only: the
  // device sampler cannot apply it (see Sampler).
  std::shared_ptr<const Constraint> constraint;

  // Rejects out-of-range values (NaN and infinities included) with the field name:
  // "top_p: must be in (0, 1], got 1.5"; more stop strings or ids than the caps above.
  Status validate() const;
  // Whether the next token is the argmax: temperature below kGreedyTemperature. Every
  // sampler (Sampler, the device's, through DeviceSampling) follows this rule.
  bool greedy() const { return temperature < kGreedyTemperature; }
};

// The index-th seed derived from `seed` (splitmix64): distinct per index, the same in every
// run. Seeds requests without params.seed, and the samples and forks of a seeded request.
std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t index);

}  // namespace agentrt::sampling
