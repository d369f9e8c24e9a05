// parse_matching: a finished answer checked against the schema, as the decoder would have
// generated it.
#include "engine/grammar/schema_match.h"

#include <gtest/gtest.h>

#include "engine/grammar/schema_compiler.h"

namespace agentrt::grammar {
namespace {

std::shared_ptr<const SchemaGrammar> grammar_of(const char* schema) {
  auto g = compile_schema_text(schema);
  EXPECT_TRUE(g.ok()) << g.error().to_string();
  return g.ok() ? *g : nullptr;
}

TEST(SchemaMatch, AcceptsValidJsonWithWhitespaceAndKeysInAnyOrder) {
  auto g = grammar_of(R"({"type": "object", "properties": {
      "items": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
      "n": {"type": "integer"}, "kind": {"enum": ["a", "b"]}}, "required": ["items", "n"]})");
  auto v =
      parse_matching(*g, " {\"n\": 3,\n \"items\": [\"x\\\"y\", \"\\u00e9\"], \"kind\": \"b\"} ");
  ASSERT_TRUE(v.ok()) << v.error().to_string();
  EXPECT_EQ((*v)["items"][1], "\u00e9");
  EXPECT_TRUE(matches(*g, R"({"items":[],"n":-1})"));
  EXPECT_FALSE(matches(*g, R"({"items":[], "n":1})")) << "compact only";
}

TEST(SchemaMatch, RefusesWhatTheSchemaRefuses) {
  auto g = grammar_of(R"({"type": "object", "properties": {
      "items": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
      "n": {"type": "integer"}}, "required": ["n"]})");
  auto cut = parse_matching(*g, R"({"n": 3, "items": ["a")");
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.error().code, ErrorCode::parse);
  EXPECT_EQ(cut.error().message.rfind("not valid JSON", 0), 0u) << cut.error().message;
  for (const char* bad : {R"({"items": ["a"]})", R"({"n": 1.5})", R"({"n": 1, "x": 2})",
                          R"({"n": 1, "items": ["a", "b", "c"]})", R"({"n": "1"})", "[1]"}) {
    auto v = parse_matching(*g, bad);
    ASSERT_FALSE(v.ok()) << bad;
    EXPECT_EQ(v.error().code, ErrorCode::invalid_argument) << bad;
    EXPECT_NE(v.error().message.find("does not match the schema"), std::string::npos)
        << v.error().message;
  }
  auto missing = parse_matching(*g, R"({"items": ["a"]})");
  EXPECT_NE(missing.error().message.find("at byte 14"), std::string::npos)
      << missing.error().message;
}

}  // namespace
}  // namespace agentrt::grammar
