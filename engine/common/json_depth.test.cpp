#include "engine/common/json_depth.h"

#include <gtest/gtest.h>

#include "engine/common/echo.h"

namespace agentrt {
namespace {

std::string nested(int depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

TEST(JsonDepth, AcceptsTheLimitAndRefusesOneMore) {
  EXPECT_FALSE(find_json_depth_excess(nested(kMaxJsonDepth)));
  const auto e = find_json_depth_excess(nested(kMaxJsonDepth + 1));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->offset, static_cast<std::size_t>(kMaxJsonDepth));
  EXPECT_EQ(e->col, kMaxJsonDepth + 1);
}

TEST(JsonDepth, NamesThePlaceAsAPointerAndLine) {
  const std::string text = "{\"messages\": [],\n \"tools\": [1, {\"a/b\": [[[[";
  const auto e = find_json_depth_excess(text, 4);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->pointer, "/tools/1/a~1b/0");
  EXPECT_EQ(e->line, 2);
  EXPECT_EQ(e->col, 24);
  const Status s = check_json_depth(text, "req.json", 4);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message,
            "req.json: JSON nested deeper than 4 levels at /tools/1/a~1b/0 (line 2, col 24)");
}

TEST(JsonDepth, SkipsBracketsInStringsAndEscapes) {
  EXPECT_FALSE(find_json_depth_excess(R"([["[[[[", "\"[[[["]])", 2));
  EXPECT_TRUE(find_json_depth_excess(R"([["\\", [[]]])", 2));
}

TEST(JsonDepth, ScansHugeDepthWithoutRecursion) {
  const std::string deep(1 << 20, '[');
  const Status s = check_json_depth(deep, "x");
  ASSERT_FALSE(s.ok());
  EXPECT_LT(s.error().message.size(), 2 * kMaxEchoBytes);
}

TEST(Echo, CutsLongValuesAtACharacterBoundary) {
  EXPECT_EQ(echo_value("short"), "short");
  EXPECT_EQ(echo_value(std::string(1000, 'x'), 10), "xxxxxxxxxx... (1000 bytes)");
  // "é" is two bytes; a cut inside it steps back before it.
  EXPECT_EQ(echo_value("abcé", 4), "abc... (5 bytes)");
}

}  // namespace
}  // namespace agentrt
