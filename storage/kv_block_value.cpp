#include "storage/kv_block_value.h"

#include <xxhash.h>

#include <cstring>

namespace agentrt::storage {

namespace {

constexpr std::size_t kHeaderBytes = 4 + 2 + 2 + 16 + 16 + 8 + 8;
constexpr std::size_t kChecksumAt = kHeaderBytes - 8;

template <class T>
void put_le(std::string& out, T v) {
  for (std::size_t i = 0; i < sizeof(T); ++i)
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

template <class T>
T get_le(const char* p) {
  T v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    v |= static_cast<T>(static_cast<T>(static_cast<unsigned char>(p[i])) << (8 * i));
  }
  return v;
}

std::uint64_t checksum(std::string_view header_without_sum, std::string_view payload) {
  XXH3_state_t* st = XXH3_createState();
  XXH3_64bits_reset(st);
  XXH3_64bits_update(st, header_without_sum.data(), header_without_sum.size());
  XXH3_64bits_update(st, payload.data(), payload.size());
  const std::uint64_t h = XXH3_64bits_digest(st);
  XXH3_freeState(st);
  return h;
}

}  // namespace

void append_key(std::string& out, const kv::BlockKey& k) {
  const auto b = k.bytes();
  out.append(reinterpret_cast<const char*>(b.data()), b.size());
}

std::string encode_kv_block(const kv::BlockKey& model, const kv::BlockKey& key,
                            std::span<const std::byte> payload) {
  std::string v;
  v.reserve(kHeaderBytes + payload.size());
  put_le<std::uint32_t>(v, kKvBlockMagic);
  put_le<std::uint16_t>(v, kKvBlockFormatVersion);
  put_le<std::uint16_t>(v, 0);
  append_key(v, model);
  append_key(v, key);
  put_le<std::uint64_t>(v, payload.size());
  const std::string_view body(reinterpret_cast<const char*>(payload.data()), payload.size());
  put_le<std::uint64_t>(v, checksum(v, body));
  v.append(body);
  return v;
}

std::optional<std::vector<std::byte>> decode_kv_block(const kv::BlockKey& model,
                                                      const kv::BlockKey& key, std::string_view v) {
  if (v.size() < kHeaderBytes) return std::nullopt;
  const char* p = v.data();
  if (get_le<std::uint32_t>(p) != kKvBlockMagic) return std::nullopt;
  if (get_le<std::uint16_t>(p + 4) != kKvBlockFormatVersion) return std::nullopt;
  std::string expect_keys;
  append_key(expect_keys, model);
  append_key(expect_keys, key);
  if (std::memcmp(p + 8, expect_keys.data(), 32) != 0) return std::nullopt;
  if (get_le<std::uint64_t>(p + 40) != v.size() - kHeaderBytes) return std::nullopt;
  const std::string_view body = v.substr(kHeaderBytes);
  if (get_le<std::uint64_t>(p + kChecksumAt) != checksum(v.substr(0, kChecksumAt), body)) {
    return std::nullopt;
  }
  std::vector<std::byte> out(body.size());
  std::memcpy(out.data(), body.data(), body.size());
  return out;
}

}  // namespace agentrt::storage
