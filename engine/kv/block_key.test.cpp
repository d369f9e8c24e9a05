// BlockKey: pinned test vectors (root key, chained keys, with and without the backend's
// block layout in the fingerprint), byte order, and sensitivity to every input.
#include "engine/kv/block_key.h"

#include <gtest/gtest.h>

#include <vector>

namespace agentrt::kv {
namespace {

// models/tiny-calc's fingerprint, and with the CPU backend's layout at block size 16 (what
// the Engine keys its blocks with).
const std::string kModel = "83520e9793427114718b53971993bdc5";
const std::string kWithLayout =
    layout_fingerprint(kModel, "cpu f32 [layer][K|V][slot][kv_head][head_dim] block_size 16");

// PINNED VALUES. Persisted KV (storage/kv_store.h) is found by these keys across versions
// and processes: if hashing or serialisation changes, every stored block silently becomes
// a miss. A change here must be deliberate and come with a bump of
// storage::kKvBlockFormatVersion, which the store records and checks on open.
TEST(BlockKey, RootKeysArePinned) {
  EXPECT_EQ(root_key("").hex(), "99aa06d3014798d86001c324468d497f");
  EXPECT_EQ(root_key("fp").hex(), "f8a1336b11009c6942b00f5937e300f1");
  EXPECT_EQ(root_key(kModel).hex(), "fd834ca81ec0c3aa66cd56eb16ed5fb6");
  EXPECT_EQ(root_key(kWithLayout).hex(), "7f8edb4cf12b8ddef4259ec8126564fb");
}

TEST(BlockKey, ChainedKeysArePinned) {
  const std::vector<std::int32_t> b0{1, 2, 3, 4}, b1{5, 6, 7, 8};
  const BlockKey k0 = chain_key(root_key("fp"), b0, "fp");
  EXPECT_EQ(k0.hex(), "6f38b96931c113423ac427df06c62d74");
  EXPECT_EQ(chain_key(k0, b1, "fp").hex(), "ccede9224842c6ee268f1c5a3ad509c5");
  // Ids beyond 16 bits and negative ones (serialised as u32) and an empty block.
  EXPECT_EQ(chain_key(root_key("fp"), std::vector<std::int32_t>{151643, -1, 0, 70000}, "fp").hex(),
            "1a1d2252b636b53b6f0425b573a89845");
  EXPECT_EQ(chain_key(root_key("fp"), std::span<const std::int32_t>{}, "fp").hex(),
            "38006d0b30307c71b453272dc0b54a62");
  // Without and with the layout field: a model's keys differ per backend layout.
  std::vector<std::int32_t> sixteen(16);
  for (int i = 0; i < 16; ++i)
    sixteen[static_cast<std::size_t>(i)] = 100 + i;
  const BlockKey plain = chain_key(root_key(kModel), sixteen, kModel);
  const BlockKey laid = chain_key(root_key(kWithLayout), sixteen, kWithLayout);
  EXPECT_EQ(plain.hex(), "c4ace9af6461c7b3c3ecbb7503aa750a");
  EXPECT_EQ(laid.hex(), "bfdb6084de220949535225ed486db508");
  EXPECT_EQ(chain_key(laid, sixteen, kWithLayout).hex(), "174541822ce99a11aca00166950954ef");
}

TEST(BlockKey, LayoutFingerprintIsPinned) {
  EXPECT_EQ(layout_fingerprint("abc", "cpu f32"), "abc\nkv layout: cpu f32");
}

TEST(BlockKey, BytesAreBigEndianHiThenLo) {
  const BlockKey k{0x0123456789abcdefull, 0xfedcba9876543210ull};
  EXPECT_EQ(k.hex(), "0123456789abcdeffedcba9876543210");
  const auto b = k.bytes();
  EXPECT_EQ(b[0], std::byte{0x01});
  EXPECT_EQ(b[15], std::byte{0x10});
  EXPECT_EQ(BlockKey::from_bytes(std::span<const std::byte, 16>(b)), k);
}

TEST(BlockKey, EveryInputChangesTheKey) {
  const std::vector<std::int32_t> t{1, 2, 3, 4};
  const BlockKey a = chain_key(root_key("fp"), t, "fp");
  EXPECT_NE(a, chain_key(root_key("fp2"), t, "fp2"));
  EXPECT_NE(a, chain_key(root_key("fp"), t, "fp2"));  // a spliced chain
  EXPECT_NE(a, chain_key(a, t, "fp"));
  EXPECT_NE(a, chain_key(root_key("fp"), std::vector<std::int32_t>{1, 2, 3, 5}, "fp"));
  EXPECT_NE(a, chain_key(root_key("fp"), std::vector<std::int32_t>{1, 2, 3}, "fp"));
}

}  // namespace
}  // namespace agentrt::kv
