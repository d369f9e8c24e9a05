// libFuzzer target for decode_segment (built with clang -fsanitize=fuzzer; excluded from the
// normal build by its .fuzz.cpp suffix). The input's first two bytes choose the looked-up
// token count (0-31) and the token KV bytes (0-255); the rest is the stored value. Traps
// when an accepted value breaks segment_value.h's contract (its tokens, size and position),
// when encode's output does not decode back, or when a one-byte change is accepted.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "engine/kv/segment_value.h"

namespace {

void check(bool condition) {
  if (!condition) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using agentrt::kv::SegmentEntry;
  if (size < 2) return 0;
  const std::size_t n = data[0] % 32;
  const std::size_t tkb = data[1];
  std::vector<std::int32_t> tokens(n);
  for (std::size_t i = 0; i < n; ++i)
    tokens[i] = static_cast<std::int32_t>(i * 7919 % 151936);
  const std::span<const std::byte> value(reinterpret_cast<const std::byte*>(data + 2), size - 2);
  // Arbitrary bytes: refused, or an entry that keeps the contract.
  if (auto e = agentrt::kv::decode_segment(value, tokens, tkb); e.ok()) {
    check(e->tokens == tokens);
    check(e->kv.size() == n * tkb);
    check(e->position >= 0);
    check(agentrt::kv::encode_segment(*e, tkb) ==
          std::vector<std::byte>(value.begin(), value.end()));
  }
  // The same bytes as an entry's KV: encode then decode is the identity, and any one
  // changed byte is refused.
  SegmentEntry e;
  e.tokens = tokens;
  e.position = static_cast<std::int32_t>(size);
  for (std::size_t i = 0; i < n * tkb; ++i)
    e.kv.push_back(value.empty() ? std::byte{0} : value[i % value.size()]);
  auto stored = agentrt::kv::encode_segment(e, tkb);
  auto back = agentrt::kv::decode_segment(stored, tokens, tkb);
  check(back.ok() && back->kv == e.kv && back->position == e.position);
  const std::size_t at = value.empty() ? 0 : static_cast<std::size_t>(value[0]) % stored.size();
  stored[at] ^= std::byte{0x20};
  check(!agentrt::kv::decode_segment(stored, tokens, tkb).ok());
  return 0;
}
