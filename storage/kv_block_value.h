// The stored form of one KV block (a KvStore value): a header {magic, format version,
// reserved, model key, block key, payload size, XXH3-64 checksum of all else} and the
// payload. Little-endian; kv_store_testing.h pins the offsets.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/kv/block_key.h"

namespace agentrt::storage {

inline constexpr std::uint32_t kKvBlockMagic = 0x42564B41;  // "AKVB" little-endian
// The format of stored KV: the value layout here, and the keys that find values (block keys,
// engine/kv/block_key.h, and model fingerprints, engine/model/fingerprint.h, both pinned by
// test vectors). Bump it with any change to either: every value carries it and the store
// records it, so an old store's rows are dropped on open instead of silently missing.
inline constexpr std::uint16_t kKvBlockFormatVersion = 1;

// The value storing `payload` as block `key` of model `model`.
std::string encode_kv_block(const kv::BlockKey& model, const kv::BlockKey& key,
                            std::span<const std::byte> payload);
// The payload of `value` if it passes every check (magic, version, both keys, size,
// checksum), else nullopt.
std::optional<std::vector<std::byte>> decode_kv_block(const kv::BlockKey& model,
                                                      const kv::BlockKey& key,
                                                      std::string_view value);
// Appends the key's bytes to out (store row keys and the value's key fields).
void append_key(std::string& out, const kv::BlockKey& k);

}  // namespace agentrt::storage
