// The stored form of a segment (segment_value.h): a round trip keeps every field, and each
// damage or mismatch is refused with its reason.
#include "engine/kv/segment_value.h"

#include <gtest/gtest.h>

namespace agentrt::kv {
namespace {

constexpr std::size_t kTkb = 12;  // token KV bytes of the test layout

SegmentEntry entry() {
  SegmentEntry e;
  e.tokens = {5, 900, 7, 70000};
  e.position = 37;
  for (std::size_t i = 0; i < e.tokens.size() * kTkb; ++i)
    e.kv.push_back(static_cast<std::byte>(i * 7 + 1));
  return e;
}

std::string refusal(std::span<const std::byte> value, std::span<const std::int32_t> tokens,
                    std::size_t tkb = kTkb) {
  auto got = decode_segment(value, tokens, tkb);
  EXPECT_FALSE(got.ok());
  if (got.ok()) return {};
  EXPECT_EQ(got.error().code, ErrorCode::corrupt);
  return got.error().message;
}

TEST(SegmentValue, RoundTripKeepsTokensPositionAndKv) {
  const SegmentEntry e = entry();
  const auto v = encode_segment(e, kTkb);
  EXPECT_EQ(v.size(), kSegmentHeaderBytes + 4 * (4 + kTkb));
  auto got = decode_segment(v, e.tokens, kTkb);
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(got->tokens, e.tokens);
  EXPECT_EQ(got->position, 37);
  EXPECT_EQ(got->kv, e.kv);
}

TEST(SegmentValue, DamageAndMismatchesAreRefusedWithTheirReason) {
  const SegmentEntry e = entry();
  const auto v = encode_segment(e, kTkb);
  auto flipped = v;
  flipped[kSegmentHeaderBytes + 20] ^= std::byte{0x40};  // one KV byte
  EXPECT_NE(refusal(flipped, e.tokens).find("checksum"), std::string::npos);
  auto position = v;
  position[12] ^= std::byte{1};  // the header is checksummed too
  EXPECT_NE(refusal(position, e.tokens).find("checksum"), std::string::npos);
  EXPECT_NE(refusal(v, e.tokens, kTkb * 2).find("this backend's layout has 24"), std::string::npos);
  std::vector<std::int32_t> other = e.tokens;
  other[2] += 1;
  EXPECT_NE(refusal(v, other).find("token 2 differs"), std::string::npos);
  other.push_back(1);
  EXPECT_NE(refusal(v, other).find("5 looked up"), std::string::npos);
  EXPECT_NE(refusal(std::span(v).first(v.size() - 1), e.tokens).find("tokens need"),
            std::string::npos);
  EXPECT_NE(refusal(std::span(v).first(10), e.tokens).find("shorter than its header"),
            std::string::npos);
  auto version = v;
  version[4] = std::byte{9};
  EXPECT_NE(refusal(version, e.tokens).find("format version 9"), std::string::npos);
  auto reserved = v;
  reserved[21] = std::byte{1};
  EXPECT_NE(refusal(reserved, e.tokens).find("reserved"), std::string::npos);
  auto magic = v;
  magic[0] = std::byte{0};
  EXPECT_NE(refusal(magic, e.tokens).find("magic"), std::string::npos);
}

}  // namespace
}  // namespace agentrt::kv
