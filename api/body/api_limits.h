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
// GET /v1/jobs page size: default and most.
inline constexpr int kDefaultListLimit = 50;
inline constexpr int kMaxListLimit = 1000;
// Event streams open at once (each holds an HTTP worker thread).
inline constexpr int kMaxEventStreams = 64;
// Idempotency-Key header length.
inline constexpr std::size_t kMaxIdempotencyKeyBytes = 256;

}  // namespace agentrt::api
