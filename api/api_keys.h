// ApiKeys: the bearer tokens the server accepts (--api-key-file: one key per line, blank
// lines and lines starting with '#' ignored). A presented token is compared with every key
// through SHA-256 digests and CRYPTO_memcmp, so the time taken says nothing about how much
// of a key matched, nor about its length.
#pragma once

#include <array>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/common/result.h"

namespace agentrt::api {

class ApiKeys {
 public:
  // Errors: an unreadable or special file, no key in it, a key shorter than 16 bytes.
  static Result<ApiKeys> load(const std::filesystem::path& file);
  // The matching key's label ("key-1", "key-2", ... in file order), or nullopt. Takes
  // "Authorization" header text: "Bearer TOKEN".
  std::optional<std::string> check(std::string_view authorization) const;
  std::size_t size() const { return digests_.size(); }

 private:
  std::vector<std::array<unsigned char, 32>> digests_;
};

inline constexpr std::size_t kMinApiKeyBytes = 16;

}  // namespace agentrt::api
