// BlockKey: the content identity of one full KV block. A key chains from the parent block's
// key, the block's token ids and the model fingerprint through XXH3-128, so the same prefix
// gives the same key in every process, on every run, for one set of weights only.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

namespace agentrt::kv {

struct BlockKey {
  std::uint64_t hi = 0;
  std::uint64_t lo = 0;

  friend bool operator==(const BlockKey&, const BlockKey&) = default;
  // 16 bytes, big-endian (hi then lo): the stable on-disk form.
  std::array<std::byte, 16> bytes() const;
  static BlockKey from_bytes(std::span<const std::byte, 16> b);
  std::string hex() const;  // 32 hex digits
};

// The fingerprint that blocks are keyed with: the model's, then the backend's block layout
// (Backend::kv_layout), so a store shared by two layouts never serves one's blocks to the
// other.
std::string layout_fingerprint(std::string_view model_fingerprint, std::string_view kv_layout);

// The key of the root (empty prefix) for one model: XXH3-128 of the fingerprint string.
BlockKey root_key(std::string_view model_fingerprint);

// Key of a full block whose parent has key `parent`. The fingerprint enters through the
// root key, which every chain starts from, and again here so a chain cannot be spliced.
BlockKey chain_key(const BlockKey& parent, std::span<const std::int32_t> tokens,
                   std::string_view model_fingerprint);

struct BlockKeyHash {
  std::size_t operator()(const BlockKey& k) const noexcept {
    return static_cast<std::size_t>(k.lo ^ (k.hi * 0x9e3779b97f4a7c15ull));
  }
};

}  // namespace agentrt::kv
