// The REST layer's caps (docs/limits.md lists them with the rest). Each is checked before
// the resource it bounds is allocated: bodies by the HTTP server before they are read.
#pragma once

#include <cstddef>

#include "engine/common/file_read.h"

namespace agentrt::api {

// A request body (the workflow YAML, inputs and framing together).
inline constexpr std::size_t kMaxRequestBodyBytes = 8u << 20;
// Inline YAML in a job submission: the same cap as a workflow file.
inline constexpr std::size_t kMaxYamlBytes = kMaxWorkflowFileBytes;
// Named inputs in one submission.
inline constexpr std::size_t kMaxJobInputs = 256;
// A job's program name (POST /v1/jobs "program"): 1 to 256 bytes, no control characters.
inline constexpr std::size_t kMaxProgramBytes = 256;
// GET /v1/jobs page size: default and most.
inline constexpr int kDefaultListLimit = 50;
inline constexpr int kMaxListLimit = 1000;
// Event streams open at once (each holds an HTTP worker thread).
inline constexpr int kMaxEventStreams = 64;
// Idempotency-Key header length.
inline constexpr std::size_t kMaxIdempotencyKeyBytes = 256;

// OpenAI-compatible bodies (api/body/openai_request.h).
// Choices per request (`n`): each is a sequence of its own in the engine.
inline constexpr int kMaxOpenAiChoices = 128;
// Alternatives per token (`top_logprobs`, completions `logprobs`).
inline constexpr int kMaxOpenAiTopLogprobs = 20;
// `max_tokens` / `max_completion_tokens`, and the default when neither is given (the server
// lowers it to the context left after the prompt).
inline constexpr int kMaxOpenAiMaxTokens = 1 << 20;
inline constexpr int kOpenAiDefaultMaxTokens = 4096;
// Messages and tool definitions in one chat request; token ids in one completions prompt.
inline constexpr std::size_t kMaxOpenAiMessages = 4096;
inline constexpr std::size_t kMaxOpenAiTools = 128;
inline constexpr std::size_t kMaxOpenAiPromptTokens = 1 << 20;
// `model`, `user` and `agentrt.session` lengths in bytes.
inline constexpr std::size_t kMaxOpenAiNameBytes = 256;
// `agentrt.retain_s`: the longest a client may ask a paused conversation's KV to stay.
inline constexpr double kMaxOpenAiRetainSeconds = 3600.0;

}  // namespace agentrt::api
