// Token sampling on the GPU, so logits need not leave the device: temperature, top-k, top-p,
// min-p and a seed per row, in the order and with the meaning of sampling::Sampler
// (engine/sampling/sampler.h). Greedy rows (temperature 0) give exactly Sampler's token (the
// highest logit, ties to the lowest id). Sampled rows draw from the same distribution as
// Sampler, with a counter-based generator: (seed, step) fixes the uniform draws, so a row's
// tokens repeat for the same seed; they are not Sampler's mt19937 sequence. Tokens tied
// exactly at the top-k or top-p cut are all kept (Sampler breaks such ties by id). Penalties
// are not applied here. Plain C++17.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "engine/device_sampling.h"

namespace agentrt::kernels {

using SampleParams = DeviceSampling;

// Rounds of rejection sampling a row may take before its top-k or top-p cut is found
// exactly instead (kernels/sampling.cu). Each round at least halves, in expectation, the mass
// that lies outside the cut; the radix select costs about four rounds.
constexpr int kSampleMaxRejections = 32;

// tokens[r] = a sample from row r of logits [rows, vocab] (f32) under params[r]; unless
// logprobs is null, logprobs[r] = its log-probability under the raw logits (log-softmax
// before temperature and truncation, as Sampler reports it). All pointers are device
// pointers. max_rejections (tests) bounds the rounds of rejection before the exact cut.
// Errors: cudaErrorInvalidValue for vocab < 1 or max_rejections < 0.
cudaError_t launch_sample(const float* logits, int rows, int vocab, const SampleParams* params,
                          std::int32_t* tokens, float* logprobs, cudaStream_t stream,
                          int max_rejections = kSampleMaxRejections);

// Structured output: for each row r with params[r].mask >= 0, sets logits[r][t] = -inf for
// every token t whose bit is clear in mask params[r].mask of `masks` (words_per_row 64-bit
// words a mask; bit t % 64 of word t / 64). Rows without a mask are untouched. Device
// pointers.
cudaError_t launch_apply_token_masks(float* logits, int rows, int vocab, const SampleParams* params,
                                     const std::uint64_t* masks, int words_per_row,
                                     cudaStream_t stream);

}  // namespace agentrt::kernels
