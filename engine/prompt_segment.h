// PromptSegment: a span of a prompt's tokens (a tool result, an agent's output, a document,
// a map item) that may recur at other offsets in other prompts (issue 21). Under
// KvReuse::blend the engine may take its KV from the segment cache instead of computing it.
#pragma once

#include <cstdint>
#include <span>

#include "engine/common/result.h"

namespace agentrt {

// Token indices [begin, end) of a prompt.
struct PromptSegment {
  std::int32_t begin = 0;
  std::int32_t end = 0;
  bool operator==(const PromptSegment&) const = default;
};

// Segments of a prompt of `prompt_size` tokens must be non-empty, inside the prompt, sorted
// and disjoint. Errors: invalid_argument naming the field ("segments[i]") and the bound.
Status check_segments(std::span<const PromptSegment> segments, std::int64_t prompt_size);

}  // namespace agentrt
