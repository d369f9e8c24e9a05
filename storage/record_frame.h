// The checked form of a JobStore value: a 24-byte header {magic u32, format version u16,
// reserved u16, payload size u64, XXH3-64 u64} and the payload (JSON text). The checksum
// covers the header before it, the record's key and the payload, so a valid value moved
// under another key fails too. Little-endian.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/common/result.h"

namespace agentrt::storage {

inline constexpr std::uint32_t kRecordMagic = 0x4A525341;  // "ASRJ" little-endian
inline constexpr std::uint16_t kRecordFormatVersion = 1;
inline constexpr std::size_t kRecordHeaderBytes = 24;

// The value storing `payload` under `key`.
std::string frame_record(std::string_view key, std::string_view payload);
// The payload of `value` stored under `key`. Errors: corrupt, saying which check failed
// ("checksum mismatch", "bad magic", ...).
Result<std::string_view> unframe_record(std::string_view key, std::string_view value);

}  // namespace agentrt::storage
