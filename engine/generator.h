// generate(): runs a set of requests to completion on one Backend, through an Engine (the
// one generation loop: its scheduler, prefix cache, sampling and stop tokens), and turns
// the events into results; stop strings are matched here on the detokenized text, which
// the Engine does not see. Single-threaded: the caller's thread drives the Engine.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "engine/backend.h"
#include "engine/common/result.h"
#include "engine/finish_reason.h"
#include "engine/model/config.h"
#include "engine/sampling/sampler.h"
#include "engine/sampling/sampling_params.h"

namespace agentrt {

struct GenerationRequest {
  std::vector<std::int32_t> prompt;
  sampling::SamplingParams params;
};

struct GenerationResult {
  // Output tokens, including a final EOS / stop token (whose text is not in `text`).
  std::vector<std::int32_t> tokens;
  std::vector<sampling::SampledToken> steps;  // one per output token
  FinishReason finish = FinishReason::length;
  // Detokenized output (empty without a detokenizer); excludes a matched stop string.
  std::string text;
};

// Decodes token ids to text; used for stop strings and GenerationResult::text.
using Detokenize = std::function<std::string(std::span<const std::int32_t>)>;

struct GeneratorOptions {
  int max_prefill_tokens_per_step = 2048;  // the Engine's max_tokens_per_step
  // Seeds requests without params.seed (derived with the request's index, as the Engine
  // does for its request ids).
  std::uint64_t seed = 0;
};

// Runs every request to completion; results follow the request order. A request finishes
// on an EOS id (config.eos_token_ids, unless ignore_eos) or one of its stop_token_ids, a
// stop string (needs `detokenize`), max_tokens, or when prompt + output reaches
// config.max_context(). Sampling runs on the host (Sampler, seeded as above) on every
// backend, so CPU and CUDA runs of one request draw the same tokens from the same logits.
// Errors: invalid params, an empty prompt or a token outside the vocabulary
// (invalid_argument, naming the request), a prompt that fills the context, a request whose
// KV cannot fit in the backend's block pool (out_of_memory, with the numbers), a logits row
// with NaN or infinity (corrupt: "non-finite logits at step N"), or a backend error.
Result<std::vector<GenerationResult>> generate(Backend& backend, const model::ModelConfig& config,
                                               std::span<const GenerationRequest> requests,
                                               const GeneratorOptions& options = {},
                                               const Detokenize& detokenize = nullptr);

}  // namespace agentrt
