// KvReuse: how far a request lets the engine reuse KV (issue 21).
#pragma once

#include <string_view>

#include "engine/common/result.h"

namespace agentrt {

enum class KvReuse {
  // Only exact prefixes: the same tokens at the same positions from the prompt's start
  // (bit-for-bit the KV a full recompute gives). EngineRequest::segments are ignored.
  exact,
  // Also the prompt's segments, from the segment cache, computed in another context and
  // placed here: keys re-rotated to the new positions, a fraction of the segment's tokens
  // recomputed (EngineRequest::blend_recompute). Approximate; see engine/blend/.
  blend,
};

const char* to_string(KvReuse reuse);
// "exact" or "blend"; anything else is invalid_argument naming the value.
Result<KvReuse> parse_kv_reuse(std::string_view name);

}  // namespace agentrt
