#include "engine/kv/segment_value.h"

#include <xxhash.h>

#include <cstring>
#include <string>

namespace agentrt::kv {
namespace {

constexpr std::size_t kChecksumAt = 24;  // the header's last 8 bytes

void put_le(std::byte* at, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i)
    at[i] = static_cast<std::byte>((v >> (8 * i)) & 0xff);
}

std::uint64_t get_le(const std::byte* at, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i)
    v |= static_cast<std::uint64_t>(at[i]) << (8 * i);
  return v;
}

// XXH3-64 of the value but its checksum field: the body's, seeded with the header's.
std::uint64_t checksum(std::span<const std::byte> value) {
  const std::uint64_t head = XXH3_64bits(value.data(), kChecksumAt);
  return XXH3_64bits_withSeed(value.data() + kSegmentHeaderBytes,
                              value.size() - kSegmentHeaderBytes, head);
}

Error corrupt(const std::string& what) {
  return Error{ErrorCode::corrupt, "stored segment: " + what};
}

}  // namespace

std::vector<std::byte> encode_segment(const SegmentEntry& e, std::size_t token_kv_bytes) {
  const std::size_t n = e.tokens.size();
  std::vector<std::byte> v(kSegmentHeaderBytes + n * sizeof(std::int32_t) + e.kv.size());
  put_le(v.data(), kSegmentMagic, 4);
  put_le(v.data() + 4, kSegmentFormatVersion, 2);
  put_le(v.data() + 8, token_kv_bytes, 4);
  put_le(v.data() + 12, static_cast<std::uint32_t>(e.position), 4);
  put_le(v.data() + 16, n, 4);
  std::byte* at = v.data() + kSegmentHeaderBytes;
  for (std::int32_t t : e.tokens) {
    put_le(at, static_cast<std::uint32_t>(t), 4);
    at += 4;
  }
  if (!e.kv.empty()) std::memcpy(at, e.kv.data(), e.kv.size());
  put_le(v.data() + kChecksumAt, checksum(v), 8);
  return v;
}

Result<SegmentEntry> decode_segment(std::span<const std::byte> value,
                                    std::span<const std::int32_t> tokens,
                                    std::size_t token_kv_bytes) {
  const std::size_t n = tokens.size();
  const std::size_t want = kSegmentHeaderBytes + n * (sizeof(std::int32_t) + token_kv_bytes);
  if (value.size() < kSegmentHeaderBytes)
    return corrupt(std::to_string(value.size()) + " bytes, shorter than its header");
  if (get_le(value.data(), 4) != kSegmentMagic) return corrupt("bad magic");
  if (const auto version = get_le(value.data() + 4, 2); version != kSegmentFormatVersion) {
    return corrupt("format version " + std::to_string(version) + ", this build reads " +
                   std::to_string(kSegmentFormatVersion));
  }
  if (get_le(value.data() + 6, 2) != 0 || get_le(value.data() + 20, 4) != 0)
    return corrupt("reserved header bytes set");
  if (const auto tkb = get_le(value.data() + 8, 4); tkb != token_kv_bytes) {
    return corrupt("KV of " + std::to_string(tkb) + " bytes a token, this backend's layout has " +
                   std::to_string(token_kv_bytes));
  }
  if (const auto count = get_le(value.data() + 16, 4); count != n)
    return corrupt(std::to_string(count) + " tokens, " + std::to_string(n) + " looked up");
  if (value.size() != want) {
    return corrupt(std::to_string(value.size()) + " bytes, " + std::to_string(n) + " tokens need " +
                   std::to_string(want));
  }
  if (checksum(value) != get_le(value.data() + kChecksumAt, 8)) return corrupt("bad checksum");
  const std::byte* at = value.data() + kSegmentHeaderBytes;
  for (std::size_t i = 0; i < n; ++i, at += 4) {
    if (static_cast<std::int32_t>(get_le(at, 4)) != tokens[i])
      return corrupt("token " + std::to_string(i) + " differs from the one looked up");
  }
  SegmentEntry e;
  e.tokens.assign(tokens.begin(), tokens.end());
  e.position = static_cast<std::int32_t>(get_le(value.data() + 12, 4));
  if (e.position < 0) return corrupt("negative position " + std::to_string(e.position));
  e.kv.assign(at, value.data() + value.size());
  return e;
}

}  // namespace agentrt::kv
