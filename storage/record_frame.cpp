#include "storage/record_frame.h"

#include <xxhash.h>

namespace agentrt::storage {

namespace {

constexpr std::size_t kChecksumAt = 16;

template <class T>
void put_le(std::string& out, T v) {
  for (std::size_t i = 0; i < sizeof(T); ++i)
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

template <class T>
T get_le(const char* p) {
  T v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i)
    v |= static_cast<T>(static_cast<T>(static_cast<unsigned char>(p[i])) << (8 * i));
  return v;
}

std::uint64_t checksum(std::string_view head, std::string_view key, std::string_view payload) {
  XXH3_state_t* st = XXH3_createState();
  XXH3_64bits_reset(st);
  XXH3_64bits_update(st, head.data(), head.size());
  XXH3_64bits_update(st, key.data(), key.size());
  XXH3_64bits_update(st, payload.data(), payload.size());
  const std::uint64_t h = XXH3_64bits_digest(st);
  XXH3_freeState(st);
  return h;
}

Error corrupt(std::string reason) {
  return make_error(ErrorCode::corrupt, std::move(reason));
}

}  // namespace

std::string frame_record(std::string_view key, std::string_view payload) {
  std::string v;
  v.reserve(kRecordHeaderBytes + payload.size());
  put_le<std::uint32_t>(v, kRecordMagic);
  put_le<std::uint16_t>(v, kRecordFormatVersion);
  put_le<std::uint16_t>(v, 0);
  put_le<std::uint64_t>(v, payload.size());
  put_le<std::uint64_t>(v, checksum(v, key, payload));
  v.append(payload);
  return v;
}

Result<std::string_view> unframe_record(std::string_view key, std::string_view v) {
  if (v.size() < kRecordHeaderBytes) {
    return corrupt("truncated: " + std::to_string(v.size()) + " bytes, shorter than its header");
  }
  const char* p = v.data();
  if (get_le<std::uint32_t>(p) != kRecordMagic) return corrupt("bad magic");
  if (const auto version = get_le<std::uint16_t>(p + 4); version != kRecordFormatVersion) {
    return corrupt("format version " + std::to_string(version) + " (this build reads " +
                   std::to_string(kRecordFormatVersion) + ")");
  }
  const std::string_view payload = v.substr(kRecordHeaderBytes);
  if (const auto size = get_le<std::uint64_t>(p + 8); size != payload.size()) {
    return corrupt("size " + std::to_string(size) + " recorded, " + std::to_string(payload.size()) +
                   " stored (truncated or extended)");
  }
  if (get_le<std::uint64_t>(p + kChecksumAt) != checksum(v.substr(0, kChecksumAt), key, payload)) {
    return corrupt("checksum mismatch");
  }
  return payload;
}

}  // namespace agentrt::storage
