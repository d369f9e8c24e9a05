#include "api/api_keys.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "engine/common/file_read.h"

namespace agentrt::api {
namespace {

std::array<unsigned char, 32> digest(std::string_view s) {
  std::array<unsigned char, 32> d{};
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d.data());
  return d;
}

}  // namespace

Result<ApiKeys> ApiKeys::load(const std::filesystem::path& file) {
  auto text = read_file_bounded(file.string(), 1u << 20);
  if (!text.ok()) return text.error().with_context("--api-key-file");
  ApiKeys keys;
  std::size_t pos = 0, line = 0;
  while (pos <= text->size()) {
    std::size_t end = text->find('\n', pos);
    if (end == std::string::npos) end = text->size();
    std::string key = text->substr(pos, end - pos);
    ++line;
    pos = end + 1;
    while (!key.empty() && (key.back() == '\r' || key.back() == ' ' || key.back() == '\t'))
      key.pop_back();
    std::size_t start = key.find_first_not_of(" \t");
    if (start == std::string::npos || key[start] == '#') continue;
    key = key.substr(start);
    if (key.size() < kMinApiKeyBytes)
      return make_error(ErrorCode::invalid_argument,
                        "--api-key-file " + file.string() + ":" + std::to_string(line) +
                            ": a key must have at least " + std::to_string(kMinApiKeyBytes) +
                            " bytes");
    keys.digests_.push_back(digest(key));
  }
  if (keys.digests_.empty())
    return make_error(ErrorCode::invalid_argument,
                      "--api-key-file " + file.string() + ": no key in the file");
  return keys;
}

std::optional<std::string> ApiKeys::check(std::string_view authorization) const {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.substr(0, kBearer.size()) != kBearer) return std::nullopt;
  const auto d = digest(authorization.substr(kBearer.size()));
  std::optional<std::string> found;
  for (std::size_t i = 0; i < digests_.size(); ++i)  // every key, whatever matches
    if (CRYPTO_memcmp(d.data(), digests_[i].data(), d.size()) == 0)
      found = "key-" + std::to_string(i + 1);
  return found;
}

}  // namespace agentrt::api
