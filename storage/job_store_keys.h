// The row keys of JobStore (its .cpp files and tests only). Job ids hold no '\0', so
// id + '\0' prefixes exactly one job's rows; event sequence numbers are big-endian so rows
// sort in append order.
//   jobs:        'd' id               -> job document
//                'i' idempotency key  -> job id
//                'r' id '\0' key      -> "" (the job's idempotency keys, for erase_job)
//   events:      id '\0' seq(8, BE)   -> event
//   checkpoints: id '\0' key          -> checkpoint document
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/common/result.h"

namespace agentrt::storage::job_keys {

inline constexpr std::size_t kMaxIdBytes = 256;

// Errors: invalid_argument for an id that could not be a key prefix of its own.
inline Status check_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdBytes || id.find('\0') != std::string_view::npos) {
    return make_error(ErrorCode::invalid_argument,
                      "job store: a job id must be 1 to 256 bytes without NUL");
  }
  return ok_status();
}

inline std::string doc(std::string_view id) {
  return "d" + std::string(id);
}
inline std::string idempotency(std::string_view key) {
  return "i" + std::string(key);
}
inline std::string reverse_prefix(std::string_view id) {
  return "r" + std::string(id) + '\0';
}
// Rows of one job in events and checkpoints: [prefix(id), prefix_end(id)).
inline std::string prefix(std::string_view id) {
  return std::string(id) + '\0';
}
inline std::string prefix_end(std::string_view id) {
  return std::string(id) + '\1';
}
inline std::string event(std::string_view id, std::int64_t seq) {
  std::string k = prefix(id);
  for (int i = 7; i >= 0; --i)
    k.push_back(static_cast<char>((static_cast<std::uint64_t>(seq) >> (8 * i)) & 0xff));
  return k;
}
inline std::int64_t event_seq(std::string_view key) {
  std::uint64_t v = 0;
  for (std::size_t i = key.size() - 8; i < key.size(); ++i)
    v = (v << 8) | static_cast<unsigned char>(key[i]);
  return static_cast<std::int64_t>(v);
}
inline std::string checkpoint(std::string_view id, std::string_view key) {
  return prefix(id) + std::string(key);
}

}  // namespace agentrt::storage::job_keys
