#include "actors/json_schema.h"

#include <gtest/gtest.h>

namespace agentrt::actors {
namespace {

using chat::Json;

std::string check(const char* schema, const char* value) {
  auto st = validate_json(Json::parse(schema), Json::parse(value));
  return st.ok() ? "ok" : st.error().message;
}

TEST(JsonSchema, TypesRequiredAndProperties) {
  const char* s = R"({"type": "object", "properties": {"expression": {"type": "string"},
      "n": {"type": "integer", "minimum": 1, "maximum": 5}}, "required": ["expression"]})";
  EXPECT_EQ(check(s, R"({"expression": "1 + 2"})"), "ok");
  EXPECT_EQ(check(s, R"({})"), "/: missing required property 'expression'");
  EXPECT_EQ(check(s, R"({"expression": 3})"), "/expression: expected string, got integer");
  EXPECT_EQ(check(s, R"({"expression": "x", "n": 2.0})"), "ok");
  EXPECT_EQ(check(s, R"({"expression": "x", "n": 2.5})"), "/n: expected integer, got number");
  EXPECT_EQ(check(s, R"({"expression": "x", "n": 9})"), "/n: must be <= 5, got 9");
  EXPECT_EQ(check(s, R"({"expression": "x", "n": 0})"), "/n: must be >= 1, got 0");
  EXPECT_EQ(check(s, R"([1])"), "/: expected object, got array");
}

TEST(JsonSchema, EnumItemsAdditionalPropertiesAndLengths) {
  const char* s = R"({"type": "object", "additionalProperties": false, "properties": {
      "method": {"enum": ["GET", "POST"]},
      "args": {"type": "array", "items": {"type": "string", "maxLength": 3}, "maxItems": 2},
      "v": {"type": ["string", "null"], "minLength": 1}}})";
  EXPECT_EQ(check(s, R"({"method": "GET", "args": ["a", "bcd"], "v": null})"), "ok");
  EXPECT_EQ(check(s, R"({"method": "PUT"})"),
            R"(/method: must be one of ["GET","POST"], got "PUT")");
  EXPECT_EQ(check(s, R"({"args": ["a", 1]})"), "/args/1: expected string, got integer");
  EXPECT_EQ(check(s, R"({"args": ["abcd"]})"), "/args/0: allows at most 3 characters");
  EXPECT_EQ(check(s, R"({"args": ["a", "b", "c"]})"), "/args: allows at most 2 items");
  EXPECT_EQ(check(s, R"({"v": ""})"), "/v: needs at least 1 characters");
  EXPECT_EQ(check(s, R"({"v": 1})"), "/v: expected string or null, got integer");
  EXPECT_EQ(check(s, R"({"other": 1})"), "/: unexpected property 'other'");
  EXPECT_EQ(check(R"({"additionalProperties": {"type": "integer"}})", R"({"a": "x"})"),
            "/a: expected integer, got string");
}

TEST(JsonSchema, SchemaCheckNamesTheKeyword) {
  auto bad = [](const char* s) {
    auto st = check_schema(Json::parse(s));
    return st.ok() ? "ok" : st.error().message;
  };
  EXPECT_EQ(bad(R"({"type": "object", "properties": {"a": {"type": "str"}}})"),
            R"(/properties/a/type: unknown type "str")");
  EXPECT_EQ(bad(R"({"required": "a"})"), "/required: must be an array of strings");
  EXPECT_EQ(bad(R"({"minimum": "1"})"), "/minimum: must be a number");
  EXPECT_EQ(bad(R"({"maxLength": -1})"), "/maxLength: must be a non-negative integer");
  EXPECT_EQ(bad(R"({"items": 3})"), "/items: a schema must be an object or a boolean");
  EXPECT_EQ(bad(R"({"type": "object", "description": "anything else is ignored"})"), "ok");
}

}  // namespace
}  // namespace agentrt::actors
