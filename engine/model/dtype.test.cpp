#include "engine/model/dtype.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

namespace agentrt::model {
namespace {

std::uint32_t bits_of(float f) {
  std::uint32_t b = 0;
  std::memcpy(&b, &f, 4);
  return b;
}
float float_of(std::uint32_t b) {
  float f = 0;
  std::memcpy(&f, &b, 4);
  return f;
}

TEST(DType, NamesSizesAndParsing) {
  EXPECT_EQ(dtype_size(DType::f32), 4u);
  EXPECT_EQ(dtype_size(DType::f16), 2u);
  EXPECT_EQ(dtype_size(DType::bf16), 2u);
  for (DType d : {DType::f32, DType::f16, DType::bf16})
    EXPECT_EQ(parse_dtype(dtype_name(d)), d);
  EXPECT_FALSE(parse_dtype("I64").has_value());
  EXPECT_FALSE(parse_dtype("F8_E4M3").has_value());
  EXPECT_FALSE(parse_dtype("f32").has_value());
}

TEST(DType, F16ToF32KnownPatterns) {
  EXPECT_EQ(f16_to_f32(0x3c00), 1.0f);
  EXPECT_EQ(f16_to_f32(0xc000), -2.0f);
  EXPECT_EQ(f16_to_f32(0x7bff), 65504.0f);
  EXPECT_EQ(f16_to_f32(0x0400), std::ldexp(1.0f, -14));     // smallest normal
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));     // smallest subnormal
  EXPECT_EQ(f16_to_f32(0x03ff), std::ldexp(1023.0f, -24));  // largest subnormal
  EXPECT_EQ(f16_to_f32(0x8001), -std::ldexp(1.0f, -24));
  EXPECT_EQ(bits_of(f16_to_f32(0x0000)), 0u);
  EXPECT_EQ(bits_of(f16_to_f32(0x8000)), 0x80000000u);  // -0 keeps its sign
  EXPECT_EQ(f16_to_f32(0x7c00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(f16_to_f32(0xfc00), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(f16_to_f32(0x7e00)));
  EXPECT_TRUE(std::isnan(f16_to_f32(0x7c01)));  // signalling nan stays nan
  EXPECT_EQ(f16_to_f32(0x3555), 0.333251953125f);
}

TEST(DType, F32ToF16RoundsToNearestEven) {
  EXPECT_EQ(f32_to_f16(1.0f), 0x3c00);
  EXPECT_EQ(f32_to_f16(-2.0f), 0xc000);
  EXPECT_EQ(f32_to_f16(65504.0f), 0x7bff);
  EXPECT_EQ(f32_to_f16(65519.99f), 0x7bff);
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7c00);  // the tie rounds to even: infinity
  EXPECT_EQ(f32_to_f16(1e10f), 0x7c00);
  EXPECT_EQ(f32_to_f16(-1e10f), 0xfc00);
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);      // tie -> even (down)
  EXPECT_EQ(f32_to_f16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);  // tie -> even (up)
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.0f, -11) + std::ldexp(1.0f, -20)), 0x3c01);
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -24)), 0x0001);
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -25)), 0x0000);  // tie -> even zero
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -25) * 1.0001f), 0x0001);
  EXPECT_EQ(f32_to_f16(3 * std::ldexp(1.0f, -25)), 0x0002);  // tie -> even
  EXPECT_EQ(f32_to_f16(std::ldexp(1023.5f, -24)), 0x0400);   // carries into normal
  EXPECT_EQ(f32_to_f16(1e-10f), 0x0000);
  EXPECT_EQ(f32_to_f16(-1e-10f), 0x8000);
  EXPECT_EQ(f32_to_f16(float_of(1)), 0x0000);  // f32 subnormal
  EXPECT_EQ(f32_to_f16(std::numeric_limits<float>::infinity()), 0x7c00);
  const std::uint16_t nan = f32_to_f16(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(nan & 0x7c00, 0x7c00);
  EXPECT_NE(nan & 0x3ff, 0);
  EXPECT_NE(f32_to_f16(float_of(0x7f800001u)) & 0x3ff, 0);  // tiny nan payload stays nan
}

TEST(DType, F16RoundTripsEveryPattern) {
  for (std::uint32_t b = 0; b < 0x10000; ++b) {
    const auto h = static_cast<std::uint16_t>(b);
    const float f = f16_to_f32(h);
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(f16_to_f32(f32_to_f16(f)))) << b;
    } else {
      ASSERT_EQ(f32_to_f16(f), h) << b;
    }
  }
}

TEST(DType, F32ToF16MatchesDoubleRounding) {
  // Reference: pick the nearer of the two neighbouring f16 values, ties to even.
  std::mt19937 rng(7);
  for (int i = 0; i < 200000; ++i) {
    const float f = float_of(rng() & 0x7fffffffu);
    if (std::isnan(f) || std::fabs(f) >= 65504.0f) continue;
    const std::uint16_t h = f32_to_f16(f);
    const double got = f16_to_f32(h);
    const double down = f16_to_f32(h > 0 ? h - 1 : 0), up = f16_to_f32(h + 1);
    const double err = std::fabs(got - f);
    ASSERT_LE(err, std::fabs(down - f)) << f;
    ASSERT_LE(err, std::fabs(up - f)) << f;
    if (err == std::fabs(up - f) || (h > 0 && err == std::fabs(down - f))) {
      ASSERT_EQ(h & 1, 0) << "tie not rounded to even: " << f;
    }
  }
}

TEST(DType, Bf16Conversions) {
  EXPECT_EQ(bf16_to_f32(0x3f80), 1.0f);
  EXPECT_EQ(bf16_to_f32(0xc040), -3.0f);
  EXPECT_EQ(bf16_to_f32(0x7f80), std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(bf16_to_f32(0x7fc0)));
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(f32_to_bf16(float_of(0x3f808000u)), 0x3f80);  // tie -> even (down)
  EXPECT_EQ(f32_to_bf16(float_of(0x3f818000u)), 0x3f82);  // tie -> even (up)
  EXPECT_EQ(f32_to_bf16(float_of(0x3f808001u)), 0x3f81);
  EXPECT_EQ(f32_to_bf16(float_of(0x7f7fffffu)), 0x7f80);  // max float rounds to inf
  EXPECT_EQ(f32_to_bf16(-0.0f), 0x8000);
  const std::uint16_t nan = f32_to_bf16(float_of(0x7f800001u));  // would round to inf naively
  EXPECT_TRUE(std::isnan(bf16_to_f32(nan)));
  for (std::uint32_t b = 0; b < 0x10000; ++b) {
    const auto h = static_cast<std::uint16_t>(b);
    if (!std::isnan(bf16_to_f32(h))) {
      ASSERT_EQ(f32_to_bf16(bf16_to_f32(h)), h) << b;
    }
  }
}

TEST(DType, ConvertToF32HandlesUnalignedInput) {
  const std::uint16_t halves[3] = {0x3c00, 0xc000, 0x0001};
  std::byte buffer[1 + sizeof(halves)];
  std::memcpy(buffer + 1, halves, sizeof(halves));
  float out[3];
  convert_to_f32(DType::f16, buffer + 1, 3, out);
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(out[1], -2.0f);
  EXPECT_EQ(out[2], std::ldexp(1.0f, -24));
  const std::uint16_t b16[2] = {0x3f80, 0x4000};
  std::memcpy(buffer + 1, b16, sizeof(b16));
  convert_to_f32(DType::bf16, buffer + 1, 2, out);
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(out[1], 2.0f);
  const float f[2] = {1.5f, -0.25f};
  std::byte fbuf[1 + sizeof(f)];
  std::memcpy(fbuf + 1, f, sizeof(f));
  convert_to_f32(DType::f32, fbuf + 1, 2, out);
  EXPECT_EQ(out[0], 1.5f);
  EXPECT_EQ(out[1], -0.25f);
}

}  // namespace
}  // namespace agentrt::model
