// The stored form of one segment cache entry (issue 21), as the persistent tier holds it:
// a 32-byte header {magic, format version, reserved, token KV bytes, position, token count,
// reserved, XXH3-64 of all else}, the token ids, then their KV in the backend's token
// layout (Backend::token_kv_bytes). Little-endian. Pure functions; any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "engine/common/result.h"
#include "engine/kv/segment_cache.h"

namespace agentrt::kv {

inline constexpr std::uint32_t kSegmentMagic = 0x53564B41;  // "AKVS" little-endian
// Bump with any change to the layout below or to how segment keys are made.
inline constexpr std::uint16_t kSegmentFormatVersion = 1;
inline constexpr std::size_t kSegmentHeaderBytes = 32;

// The value storing `e`, whose kv holds e.tokens.size() * token_kv_bytes bytes.
std::vector<std::byte> encode_segment(const SegmentEntry& e, std::size_t token_kv_bytes);

// The entry that `value` stores for exactly `tokens` in a layout of `token_kv_bytes` per
// token. The size is checked against the one these tokens need before anything is
// allocated. Errors: corrupt, naming the check that failed (size, magic, format version,
// reserved bytes, token KV bytes of another layout, token count, token ids, checksum).
Result<SegmentEntry> decode_segment(std::span<const std::byte> value,
                                    std::span<const std::int32_t> tokens,
                                    std::size_t token_kv_bytes);

}  // namespace agentrt::kv
