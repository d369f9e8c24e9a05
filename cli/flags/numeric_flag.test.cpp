#include "cli/flags/numeric_flag.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>

namespace agentrt::cli::flags {
namespace {

std::string message_of(const Error& e) {
  return e.message;
}

TEST(ParseIntFlag, AcceptsTheBoundsAndRefusesJustPastThem) {
  EXPECT_EQ(*parse_int_flag("--n", "1", {1, 10}), 1);
  EXPECT_EQ(*parse_int_flag("--n", "10", {1, 10}), 10);
  EXPECT_EQ(*parse_int_flag("--n", "-3", {-5, 10}), -3);
  EXPECT_FALSE(parse_int_flag("--n", "0", {1, 10}).ok());
  EXPECT_FALSE(parse_int_flag("--n", "11", {1, 10}).ok());
}

TEST(ParseIntFlag, RefusesOverflowInsteadOfWrapping) {
  // 2^63 and 2^64 + 1 do not fit an int64; INT32_MAX + 1 does but is out of range.
  auto big = parse_int_flag("--max-tokens", "9223372036854775808", {1, 1 << 20});
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(message_of(big.error()),
            "--max-tokens: must be an integer in [1, 1048576], got '9223372036854775808'");
  EXPECT_FALSE(parse_int_flag("--n", "18446744073709551617", {0, 10}).ok());
  EXPECT_FALSE(parse_int_flag("--n", "2147483648", {0, 2147483647}).ok());
}

TEST(ParseIntFlag, RefusesTextThatIsNotADecimalInteger) {
  for (const char* text : {"", "abc", "1.5", "1e3", " 1", "1 ", "+1", "0x10", "1,2", "--1"}) {
    auto v = parse_int_flag("--top-k", text, {0, 100});
    ASSERT_FALSE(v.ok()) << text;
    EXPECT_NE(v.error().message.find("--top-k: must be an integer in [0, 100]"), std::string::npos)
        << v.error().message;
  }
}

TEST(ParseIntFlag, CutsAHugeValueInTheMessage) {
  const std::string huge(100000, '9');
  auto v = parse_int_flag("--n", huge, {0, 10});
  ASSERT_FALSE(v.ok());
  EXPECT_LT(v.error().message.size(), 400u);
  EXPECT_NE(v.error().message.find("(100000 bytes)"), std::string::npos);
}

TEST(ParseUint64Flag, TakesTheWholeRangeAndNoNegatives) {
  EXPECT_EQ(*parse_uint64_flag("--seed", "0"), 0u);
  EXPECT_EQ(*parse_uint64_flag("--seed", "18446744073709551615"),
            std::numeric_limits<std::uint64_t>::max());
  auto neg = parse_uint64_flag("--seed", "-1");
  ASSERT_FALSE(neg.ok());
  EXPECT_EQ(neg.error().message,
            "--seed: must be an integer in [0, 18446744073709551615], got '-1'");
  EXPECT_FALSE(parse_uint64_flag("--seed", "18446744073709551616").ok());
  EXPECT_FALSE(parse_uint64_flag("--seed", "7x").ok());
  EXPECT_FALSE(parse_uint64_flag("--seed", "").ok());
}

TEST(ParseRealFlag, RefusesNonFiniteValues) {
  for (const char* text : {"nan", "NaN", "inf", "-inf", "infinity", "1e400", "-1e400"}) {
    auto v = parse_real_flag("--temperature", text, {0.0, 100.0});
    ASSERT_FALSE(v.ok()) << text;
    EXPECT_NE(v.error().message.find("--temperature: must be a finite number in [0, 100]"),
              std::string::npos)
        << v.error().message;
  }
}

TEST(ParseRealFlag, HonoursOpenAndClosedBounds) {
  const RealRange top_p{0.0, 1.0, true};
  EXPECT_FALSE(parse_real_flag("--top-p", "0", top_p).ok());
  EXPECT_DOUBLE_EQ(*parse_real_flag("--top-p", "1", top_p), 1.0);
  EXPECT_DOUBLE_EQ(*parse_real_flag("--top-p", "0.5", top_p), 0.5);
  auto over = parse_real_flag("--top-p", "1.0001", top_p);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().message, "--top-p: must be a finite number in (0, 1], got '1.0001'");
  EXPECT_DOUBLE_EQ(*parse_real_flag("--min-p", "0", {0.0, 1.0}), 0.0);
  EXPECT_DOUBLE_EQ(*parse_real_flag("--x", "-2", {-2.0, 2.0}), -2.0);
  EXPECT_FALSE(parse_real_flag("--x", "-2.5", {-2.0, 2.0}).ok());
}

TEST(ParseRealFlag, ReadsExponentsAndTinyValues) {
  EXPECT_DOUBLE_EQ(*parse_real_flag("--t", "1e-3", {0.0, 100.0}), 1e-3);
  // Below the smallest double: reads as (nearly) 0, which is in range, not an error.
  auto tiny = parse_real_flag("--t", "1e-400", {0.0, 100.0});
  ASSERT_TRUE(tiny.ok()) << tiny.error().message;
  EXPECT_LT(*tiny, 1e-300);
  for (const char* text : {"", "abc", "1.5x", " 1", "0x1p3", "1,5"})
    EXPECT_FALSE(parse_real_flag("--t", text, {0.0, 100.0}).ok()) << text;
}

TEST(ParseFloatFlag, ChecksTheRangeAgainAfterTheCastToFloat) {
  // 1e-50 > 0 as a double, but 0 as a float: outside (0, 100].
  EXPECT_TRUE(parse_real_flag("--repetition-penalty", "1e-50", {0.0, 100.0, true}).ok());
  auto f = parse_float_flag("--repetition-penalty", "1e-50", {0.0, 100.0, true});
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.error().message.find("--repetition-penalty: must be a finite number in (0, 100]"),
            std::string::npos);
  EXPECT_FLOAT_EQ(*parse_float_flag("--t", "0.7", {0.0, 100.0}), 0.7f);
  EXPECT_EQ(*parse_float_flag("--t", "1e-50", {0.0, 100.0}), 0.0f);  // greedy
}

}  // namespace
}  // namespace agentrt::cli::flags
