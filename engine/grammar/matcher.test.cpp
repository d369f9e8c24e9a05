#include "engine/grammar/matcher.h"

#include <gtest/gtest.h>

#include <string>

#include "engine/grammar/schema_compiler.h"

namespace agentrt::grammar {
namespace {

std::shared_ptr<const SchemaGrammar> grammar(const std::string& schema) {
  auto g = compile_schema_text(schema);
  EXPECT_TRUE(g.ok()) << schema << ": " << (g.ok() ? "" : g.error().message);
  return g.ok() ? *g : nullptr;
}

// Whole-document match: every byte advances and the value is complete.
bool matches(const SchemaGrammar& g, const std::string& text) {
  MatchState s(g);
  return s.advance(text) && s.complete();
}

// A prefix that can still be completed.
bool prefix(const SchemaGrammar& g, const std::string& text) {
  MatchState s(g);
  return s.advance(text);
}

TEST(Matcher, ObjectsNeedRequiredPropertiesAndRefuseOthers) {
  auto g = grammar(R"({"type":"object","properties":{"name":{"type":"string"},
      "age":{"type":"integer"},"tags":{"type":"array","items":{"type":"string"},"maxItems":2}},
      "required":["name"]})");
  EXPECT_TRUE(matches(*g, R"({"name":"a"})"));
  EXPECT_TRUE(matches(*g, R"({"age":3,"name":"a","tags":["x","y"]})"));
  EXPECT_FALSE(matches(*g, R"({"age":3})"));          // name missing
  EXPECT_FALSE(prefix(*g, R"({"name":"a","name")"));  // twice
  EXPECT_FALSE(prefix(*g, R"({"nam":)"));             // unknown key
  EXPECT_FALSE(prefix(*g, R"({"other)"));
  EXPECT_FALSE(prefix(*g, R"({ "name")"));  // no whitespace
  EXPECT_FALSE(prefix(*g, R"({"name":"a","tags":["x","y","z")"));
  EXPECT_FALSE(prefix(*g, R"({"age":1.5)"));
  EXPECT_TRUE(prefix(*g, R"({"name":"a")"));
  EXPECT_FALSE(matches(*g, R"({"name":"a"})"
                           "x"));  // nothing after the value
}

TEST(Matcher, StringsTakeEscapesAndValidUtf8Only) {
  auto g = grammar(R"({"type":"string"})");
  EXPECT_TRUE(matches(*g, R"("a\"b\\c\/\b\f\n\r\t\u00e9\uABCD")"));
  EXPECT_TRUE(matches(*g, "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""));
  EXPECT_FALSE(prefix(*g, R"("\x)"));
  EXPECT_FALSE(prefix(*g, R"("\ud800)"));      // a surrogate half
  EXPECT_FALSE(prefix(*g, "\"a\nb"));          // raw control byte
  EXPECT_FALSE(prefix(*g, "\"\xc3("));         // broken sequence
  EXPECT_FALSE(prefix(*g, "\"\xed\xa0\x80"));  // encoded surrogate
  EXPECT_FALSE(prefix(*g, "\"\xc0\xaf"));      // overlong
  EXPECT_FALSE(matches(*g, "\"\xe2\x82\""));
  EXPECT_TRUE(prefix(*g, "\"\xe2\x82"));
}

TEST(Matcher, NumbersFollowJsonSyntax) {
  auto num = grammar(R"({"type":"number"})");
  auto integer = grammar(R"({"type":"integer"})");
  for (const char* ok : {"0", "-0", "12", "-3.25", "1e5", "1E+05", "0.5e-3"}) {
    EXPECT_TRUE(matches(*num, ok)) << ok;
  }
  for (const char* bad : {"01", "1.", "-", ".5", "1e", "+1", "1.e3", "--1"}) {
    EXPECT_FALSE(matches(*num, bad)) << bad;
  }
  EXPECT_TRUE(matches(*integer, "-42"));
  EXPECT_FALSE(prefix(*integer, "4.2"));
  EXPECT_FALSE(prefix(*integer, "4e2"));
  EXPECT_TRUE(matches(*integer, std::string(18, '9')));
  EXPECT_FALSE(prefix(*integer, std::string(19, '9')));  // stays an int64
}

TEST(Matcher, EnumsConstsAndLiterals) {
  auto g = grammar(R"({"enum":[1,12,"a\"b",null,{"k":[true]}]})");
  for (const char* ok : {"1", "12", R"("a\"b")", "null", R"({"k":[true]})"}) {
    EXPECT_TRUE(matches(*g, ok)) << ok;
  }
  EXPECT_FALSE(prefix(*g, "123"));
  EXPECT_FALSE(prefix(*g, "2"));
  EXPECT_FALSE(matches(*g, "nul"));
  auto b = grammar(R"({"type":"boolean"})");
  EXPECT_TRUE(matches(*b, "true"));
  EXPECT_TRUE(matches(*b, "false"));
  EXPECT_FALSE(prefix(*b, "tru "));
}

TEST(Matcher, ArraysCountItems) {
  auto g = grammar(R"({"type":"array","items":{"type":"integer"},"minItems":1,"maxItems":3})");
  EXPECT_FALSE(matches(*g, "[]"));
  EXPECT_TRUE(matches(*g, "[1]"));
  EXPECT_TRUE(matches(*g, "[1,2,3]"));
  EXPECT_FALSE(prefix(*g, "[1,2,3,"));
  EXPECT_FALSE(prefix(*g, "[1,]"));
  EXPECT_FALSE(prefix(*g, "[,"));
}

TEST(Matcher, AlternativesDispatchOnTheFirstByte) {
  auto g = grammar(R"({"type":"object","properties":{"v":{"type":["string","null","integer"]},
      "w":{"anyOf":[{"type":"array","items":{"type":"number"}},{"type":"boolean"}]}},
      "required":["v","w"],"additionalProperties":false})");
  EXPECT_TRUE(matches(*g, R"({"v":null,"w":[1.5,2]})"));
  EXPECT_TRUE(matches(*g, R"({"w":false,"v":"s"})"));
  EXPECT_TRUE(matches(*g, R"({"v":-7,"w":true})"));
  EXPECT_FALSE(prefix(*g, R"({"v":{)"));
  EXPECT_FALSE(prefix(*g, R"({"w":"x)"));
}

TEST(Matcher, FreeFormValuesAndRecursion) {
  auto any = grammar("{}");
  EXPECT_TRUE(matches(*any, R"({"a":[1,{"b":null}],"c":"d"})"));
  EXPECT_TRUE(matches(*any, "-1.5e3"));
  EXPECT_FALSE(prefix(*any, R"({"a" )"));
  auto closed = grammar(R"({"type":"object","additionalProperties":false})");
  EXPECT_TRUE(matches(*closed, "{}"));
  EXPECT_FALSE(prefix(*closed, R"({")"));
  auto dict = grammar(R"({"type":"object","additionalProperties":{"type":"integer"}})");
  EXPECT_TRUE(matches(*dict, R"({"x":1,"y\n":2})"));
  EXPECT_FALSE(prefix(*dict, R"({"x":"1)"));
  auto req = grammar(R"({"required":["n"],"additionalProperties":{"type":"integer"}})");
  EXPECT_TRUE(matches(*req, R"({"n":1})"));
  EXPECT_FALSE(prefix(*req, R"({"n":")"));
  EXPECT_FALSE(matches(*req, "{}"));
  auto tree = grammar(R"({"$defs":{"n":{"type":"object","properties":{"v":{"type":"integer"},
      "kids":{"type":"array","items":{"$ref":"#/$defs/n"}}},"required":["v"]}},
      "$ref":"#/$defs/n"})");
  EXPECT_TRUE(matches(*tree, R"({"v":1,"kids":[{"v":2},{"v":3,"kids":[]}]})"));
  EXPECT_FALSE(matches(*tree, R"({"v":1,"kids":[{}]})"));
}

TEST(Matcher, NestingStopsAtTheFrameCap) {
  auto any = grammar("{}");
  std::string deep(kMaxFrames, '[');
  EXPECT_TRUE(prefix(*any, deep));
  EXPECT_FALSE(prefix(*any, deep + "["));
}

}  // namespace
}  // namespace agentrt::grammar
