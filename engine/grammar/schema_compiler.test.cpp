#include "engine/grammar/schema_compiler.h"

#include <gtest/gtest.h>

#include <string>

namespace agentrt::grammar {
namespace {

using Json = nlohmann::ordered_json;

Error compile_error(const std::string& schema_text) {
  auto g = compile_schema_text(schema_text);
  EXPECT_FALSE(g.ok()) << schema_text;
  return g.ok() ? Error{} : g.error();
}

TEST(SchemaCompiler, PatternIsAnUnsupportedKeywordNamedByItsPointer) {
  const Error e = compile_error(R"({"type":"object","properties":{"a":{"type":"string",
      "pattern":"^x"}}})");
  EXPECT_EQ(e.code, ErrorCode::unsupported);
  EXPECT_EQ(e.message, "/properties/a/pattern: unsupported keyword 'pattern'");
}

TEST(SchemaCompiler, PointersReachIntoItemsDefsAndAlternatives) {
  EXPECT_EQ(
      compile_error(R"({"type":"array","items":{"properties":{"b/c":{"minimum":1}}}})").message,
      "/items/properties/b~1c/minimum: unsupported keyword 'minimum'");
  EXPECT_EQ(compile_error(R"({"$ref":"#/$defs/s","$defs":{"s":{"maxLength":3}}})").message,
            "/$defs/s/maxLength: unsupported keyword 'maxLength'");
  EXPECT_EQ(compile_error(R"({"anyOf":[{"type":"string"},{"allOf":[]}]})").message,
            "/anyOf/1/allOf: unsupported keyword 'allOf'");
  EXPECT_EQ(compile_error(R"({"type":"strng"})").message, "/type: unknown type 'strng'");
  EXPECT_EQ(compile_error(R"({"type":"array","items":[{"type":"string"}]})").message,
            "/items: a list of item schemas (tuple) is unsupported");
}

TEST(SchemaCompiler, RejectsMalformedSchemasWithInvalidArgument) {
  EXPECT_EQ(compile_error("3").code, ErrorCode::invalid_argument);
  EXPECT_EQ(compile_error(R"({"required":"a"})").message, "/required: must be an array of strings");
  EXPECT_EQ(compile_error(R"({"type":"array","minItems":-1})").message,
            "/minItems: must be a non-negative integer");
  EXPECT_EQ(compile_error(R"({"enum":[]})").message, "/enum: must be a non-empty array");
  EXPECT_EQ(compile_error(R"({"$ref":"#/$defs/none"})").message,
            "/$ref: target '#/$defs/none' does not exist");
  EXPECT_EQ(compile_error("{").code, ErrorCode::parse);
}

TEST(SchemaCompiler, RejectsOverlappingAlternativesAndEmptyCycles) {
  EXPECT_EQ(compile_error(R"({"anyOf":[{"type":"string"},{"enum":["a"]}]})").code,
            ErrorCode::unsupported);
  EXPECT_EQ(compile_error(R"({"$ref":"#"})").code, ErrorCode::unsupported);
  EXPECT_EQ(
      compile_error(R"({"$defs":{"a":{"anyOf":[{"$ref":"#/$defs/a"}]}},"$ref":"#/$defs/a"})").code,
      ErrorCode::unsupported);
  EXPECT_EQ(compile_error(R"({"type":"array","minItems":3,"maxItems":2})").code,
            ErrorCode::unsupported);
  EXPECT_EQ(compile_error(R"({"required":["x"],"additionalProperties":false})").message,
            "/required/0: 'x' is required but additionalProperties is false");
}

TEST(SchemaCompiler, ChecksCapsBeforeBuilding) {
  std::string deep;
  for (int i = 0; i < 100; ++i)
    deep += R"({"items":)";
  deep += "true";
  for (int i = 0; i < 100; ++i)
    deep += "}";
  EXPECT_NE(compile_error(deep).message.find("nests deeper than 64"), std::string::npos);
  Json wide = {{"type", "object"}, {"properties", Json::object()}};
  for (int i = 0; i < 65; ++i)
    wide["properties"]["p" + std::to_string(i)] = {{"type", "null"}};
  auto g = compile_schema(wide);
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.error().message, "/properties: more than 64 properties");
  CompileLimits small;
  small.max_values = 5;
  EXPECT_FALSE(compile_schema_text(R"({"enum":[1,2,3,4,5,6]})", small).ok());
}

TEST(SchemaCompiler, AcceptsTheSupportedSubset) {
  for (const char* ok : {
           "true",
           "{}",
           R"({"type":"object","properties":{"a":{"type":"integer"}},"required":["a"],
               "additionalProperties":false,"title":"t","description":"d"})",
           R"({"type":["string","null"]})",
           R"({"type":["integer","number"]})",
           R"({"anyOf":[{"type":"string"},{"type":"number"},{"type":"null"}]})",
           R"({"oneOf":[{"type":"object"},{"type":"array","items":{"type":"boolean"}}]})",
           R"({"$defs":{"node":{"type":"object","properties":{"kids":{"type":"array",
               "items":{"$ref":"#/$defs/node"}}}}},"$ref":"#/$defs/node"})",
           R"({"enum":["a","b",1,null,{"x":[1]}]})",
           R"({"const":"fixed","format":"date-time"})",
       }) {
    auto g = compile_schema_text(ok);
    EXPECT_TRUE(g.ok()) << ok << ": " << (g.ok() ? "" : g.error().message);
  }
}

}  // namespace
}  // namespace agentrt::grammar
