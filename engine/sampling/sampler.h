// Sampler: turns one logits row into one token for one sequence, applying penalties,
// temperature, top-k, top-p and min-p, with a per-sequence RNG. Logprobs are reported
// from the model's raw distribution (log-softmax of the unmodified logits), as vLLM does.
// With params.constraint, disallowed tokens are masked to -inf before penalties' effects,
// temperature, top-k, top-p and min-p; logprobs still come from the raw logits. When the
// constraint allows no token, the sampler emits its first end token (ending the output).
// A Sampler belongs to one sequence; it is not thread-safe. Copies sample independently.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "engine/sampling/constraint_cursor.h"
#include "engine/sampling/sampling_params.h"

namespace agentrt::sampling {

struct TokenLogprob {
  std::int32_t token = 0;
  float logprob = 0.0f;
};

struct SampledToken {
  std::int32_t token = 0;
  float logprob = 0.0f;           // of the chosen token (when params.logprobs >= 0)
  std::vector<TokenLogprob> top;  // params.logprobs alternatives, best first
};

// Index of the first NaN or infinite value of `logits`, or -1 when all are finite. Callers
// fail the request on such a row (bad weights or an overflow) instead of sampling garbage.
std::int64_t first_non_finite(std::span<const float> logits);

// "non-finite logits at step 3 (token 17: nan)" for the output token `step`, or nullopt
// when every logit is finite.
std::optional<std::string> check_logits(std::span<const float> logits, std::int64_t step);

class Sampler {
 public:
  // `default_seed` is used when params.seed is unset (the engine draws one per request).
  Sampler(const SamplingParams& params, std::uint64_t default_seed);

  // prompt: the prompt's token ids (for the repetition penalty); output: tokens sampled so
  // far in this turn (a constraint follows them). `logits` is copied, never modified.
  SampledToken sample(std::span<const float> logits, std::span<const std::int32_t> prompt,
                      std::span<const std::int32_t> output);

  // For a draw made elsewhere (a backend that samples on the device): the tokens this
  // request may draw next over `vocab` ids, as sample() would mask them after `output`, in
  // words of 64 ids (bit t set: token t allowed); when none is allowed, only the token
  // sample() would emit then (the first end token). Empty when there is no constraint, or
  // nothing to fall back to (sample() takes the argmax then). Valid until the next call.
  std::span<const std::uint64_t> allowed_tokens(std::span<const std::int32_t> output,
                                                std::size_t vocab);

 private:
  SamplingParams params_;
  std::mt19937_64 rng_;
  std::vector<float> work_;
  std::vector<std::int32_t> index_;
  std::optional<ConstraintCursor> cursor_;  // when params.constraint is set
  TokenMask fallback_;                      // allowed_tokens() when the constraint allows none
};

}  // namespace agentrt::sampling
