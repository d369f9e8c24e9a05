#include "engine/kv/block_key.h"

#include <xxhash.h>

#include <memory>

namespace agentrt::kv {

namespace {

void put_u64(std::byte* out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i)
    out[i] = static_cast<std::byte>(v >> (56 - 8 * i));
}

std::uint64_t get_u64(const std::byte* in) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v = (v << 8) | static_cast<std::uint64_t>(in[i]);
  return v;
}

BlockKey from_hash(XXH128_hash_t h) {
  return BlockKey{h.high64, h.low64};
}

}  // namespace

std::array<std::byte, 16> BlockKey::bytes() const {
  std::array<std::byte, 16> out{};
  put_u64(out.data(), hi);
  put_u64(out.data() + 8, lo);
  return out;
}

BlockKey BlockKey::from_bytes(std::span<const std::byte, 16> b) {
  return BlockKey{get_u64(b.data()), get_u64(b.data() + 8)};
}

std::string BlockKey::hex() const {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  for (std::byte b : bytes()) {
    s.push_back(kDigits[static_cast<unsigned>(b) >> 4]);
    s.push_back(kDigits[static_cast<unsigned>(b) & 15u]);
  }
  return s;
}

std::string layout_fingerprint(std::string_view model_fingerprint, std::string_view kv_layout) {
  std::string out(model_fingerprint);
  out += "\nkv layout: ";
  out += kv_layout;
  return out;
}

BlockKey root_key(std::string_view model_fingerprint) {
  return from_hash(XXH3_128bits(model_fingerprint.data(), model_fingerprint.size()));
}

BlockKey chain_key(const BlockKey& parent, std::span<const std::int32_t> tokens,
                   std::string_view model_fingerprint) {
  std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> st(XXH3_createState(), &XXH3_freeState);
  XXH3_128bits_reset(st.get());
  const auto pk = parent.bytes();
  XXH3_128bits_update(st.get(), pk.data(), pk.size());
  // Token ids as little-endian u32 with a count prefix, independent of the host's order.
  std::byte buf[4];
  auto put_u32 = [&](std::uint32_t v) {
    for (int i = 0; i < 4; ++i)
      buf[i] = static_cast<std::byte>(v >> (8 * i));
    XXH3_128bits_update(st.get(), buf, 4);
  };
  put_u32(static_cast<std::uint32_t>(tokens.size()));
  for (std::int32_t t : tokens)
    put_u32(static_cast<std::uint32_t>(t));
  put_u32(static_cast<std::uint32_t>(model_fingerprint.size()));
  XXH3_128bits_update(st.get(), model_fingerprint.data(), model_fingerprint.size());
  return from_hash(XXH3_128bits_digest(st.get()));
}

}  // namespace agentrt::kv
