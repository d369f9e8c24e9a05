// Conditions (`when:`): syntax and its error offsets, evaluation over looked-up values
// (numbers, trimmed text, lists, truthiness, in / contains, and / or / not), filters, and
// the errors of a condition that cannot be decided.
#include "workflows/condition.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

namespace agentrt::workflows {
namespace {

// Paths resolve from this table ("steps.c.answer" -> value); anything else names nothing.
Result<bool> eval(const std::string& text, const std::map<std::string, Value>& values = {}) {
  auto c = Condition::parse(text);
  if (!c.ok()) return c.error();
  return c->evaluate([&](const std::vector<std::string>& p) -> std::optional<Value> {
    std::string key;
    for (const auto& s : p)
      key += (key.empty() ? "" : ".") + s;
    auto it = values.find(key);
    if (it == values.end()) return std::nullopt;
    return it->second;
  });
}

bool holds(const std::string& text, const std::map<std::string, Value>& values = {}) {
  auto r = eval(text, values);
  EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() && *r;
}

std::size_t error_offset(const std::string& text) {
  std::size_t off = 12345;
  auto c = Condition::parse(text, &off);
  EXPECT_FALSE(c.ok()) << text;
  return off;
}

TEST(Condition, ComparesNumbersAsNumbersAndTextTrimmed) {
  const std::map<std::string, Value> v = {{"steps.c.answer", Value(" 20\n")},
                                          {"steps.c.label", Value("Math\n")},
                                          {"inputs.limit", Value("10")}};
  EXPECT_TRUE(holds("steps.c.answer > inputs.limit", v));
  EXPECT_FALSE(holds("steps.c.answer <= inputs.limit", v));
  EXPECT_TRUE(holds("steps.c.answer == 20.0", v));
  EXPECT_TRUE(holds("steps.c.answer >= -3.5", v));
  EXPECT_TRUE(holds("steps.c.label == \"Math\"", v));
  EXPECT_TRUE(holds("steps.c.label != 'math'", v));
  EXPECT_TRUE(holds("steps.c.label | lower | trim == 'math'", v));
  EXPECT_TRUE(holds("{{ steps.c.label | lower == 'math' }}", v));  // braces are optional
}

TEST(Condition, Truthiness) {
  for (const char* f : {"", "  \n", "false", "False", "no", "OFF", "none", "null", "0", "0.0"})
    EXPECT_FALSE(truthy(Value(f))) << f;
  for (const char* t : {"yes", "true", "1", "-1", "anything", "0x"})
    EXPECT_TRUE(truthy(Value(t))) << t;
  EXPECT_FALSE(truthy(Value(std::vector<std::string>{})));
  EXPECT_TRUE(truthy(Value(std::vector<std::string>{""})));
  const std::map<std::string, Value> v = {{"steps.a.output", Value("no")},
                                          {"steps.b.output", Value("yes")}};
  EXPECT_TRUE(holds("steps.b.output", v));
  EXPECT_FALSE(holds("steps.a.output", v));
  EXPECT_TRUE(holds("not steps.a.output", v));
  EXPECT_TRUE(holds("steps.a.output == false", v));  // a boolean compares truthiness
  EXPECT_TRUE(holds("steps.b.output == true", v));
  EXPECT_TRUE(holds("true", v));
  EXPECT_FALSE(holds("false", v));
}

TEST(Condition, AndOrNotParenthesesAndPrecedence) {
  EXPECT_TRUE(holds("true or false and false"));  // and binds tighter
  EXPECT_FALSE(holds("(true or false) and false"));
  EXPECT_TRUE(holds("not false and true"));
  EXPECT_FALSE(holds("not (false or true)"));
  EXPECT_TRUE(holds("not not true"));
  // Short-circuit: the right side is not evaluated (it names nothing).
  EXPECT_TRUE(holds("true or steps.missing.output"));
  EXPECT_FALSE(holds("false and steps.missing.output"));
}

TEST(Condition, InContainsAndLists) {
  const std::map<std::string, Value> v = {
      {"steps.c.label", Value("billing")},
      {"steps.m.output", Value(std::vector<std::string>{"4", "20", "x"})},
      {"steps.t.output", Value("The answer is 42.")}};
  EXPECT_TRUE(holds("steps.c.label in ['billing', 'refund']", v));
  EXPECT_FALSE(holds("steps.c.label in [\"sales\"]", v));
  EXPECT_TRUE(holds("steps.c.label not in [\"sales\"]", v));
  EXPECT_TRUE(holds("20 in steps.m.output", v));
  EXPECT_TRUE(holds("steps.m.output contains 'x'", v));
  EXPECT_TRUE(holds("'42' in steps.t.output", v));
  EXPECT_TRUE(holds("steps.t.output contains \"answer\"", v));
  EXPECT_FALSE(holds("steps.t.output contains 'ANSWER'", v));
  EXPECT_TRUE(holds("steps.m.output | length == 3", v));
  EXPECT_TRUE(holds("steps.m.output", v));
  EXPECT_TRUE(holds("steps.m.output == steps.m.output", v));
}

TEST(Condition, ReferencesListEveryPathWithItsOffset) {
  auto c = Condition::parse("steps.a.answer > 3 and inputs.x | lower in ['y']");
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_EQ(c->references().size(), 2u);
  EXPECT_EQ(c->references()[0].dotted(), "steps.a.answer");
  EXPECT_EQ(c->references()[0].offset, 0u);
  EXPECT_EQ(c->references()[1].dotted(), "inputs.x");
  EXPECT_EQ(c->references()[1].offset, 23u);
  EXPECT_EQ(c->references()[1].source, "inputs.x | lower");
  ASSERT_EQ(c->references()[1].filters.size(), 1u);
  auto braces = Condition::parse("  {{ steps.b.output }}");
  ASSERT_TRUE(braces.ok());
  EXPECT_EQ(braces->references()[0].offset, 5u);
}

TEST(Condition, SyntaxErrorsPointAtTheProblem) {
  EXPECT_EQ(error_offset(""), 0u);
  EXPECT_EQ(error_offset("steps.a.output =="), 17u);
  EXPECT_EQ(error_offset("steps.a.output = 'x'"), 15u);
  EXPECT_EQ(error_offset("(steps.a.output"), 15u);
  EXPECT_EQ(error_offset("steps.a.output)"), 14u);
  EXPECT_EQ(error_offset("steps.a.output == 'x"), 20u);
  EXPECT_EQ(error_offset("steps.a.output | nosuch == 1"), 17u);
  EXPECT_EQ(error_offset("steps.a. == 1"), 8u);
  EXPECT_EQ(error_offset("and true"), 0u);
  EXPECT_EQ(error_offset("1 < 2 < 3"), 6u);
  EXPECT_EQ(error_offset("x in [1, y]"), 9u);
  EXPECT_EQ(error_offset("x not y"), 2u);
  auto e = Condition::parse("steps.a.output | nosuch");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().message, "unknown filter 'nosuch'");
}

TEST(Condition, NestingAndSizeAreCapped) {
  std::string deep(kMaxConditionDepth + 1, '(');
  deep += "true" + std::string(kMaxConditionDepth + 1, ')');
  EXPECT_FALSE(Condition::parse(deep).ok());
  std::string ok(kMaxConditionDepth - 1, '(');
  ok += "true" + std::string(kMaxConditionDepth - 1, ')');
  EXPECT_TRUE(holds(ok));
  std::string nots;
  for (int i = 0; i < kMaxConditionDepth + 1; ++i)
    nots += "not ";
  EXPECT_FALSE(Condition::parse(nots + "true").ok());
  EXPECT_FALSE(Condition::parse(std::string(kMaxConditionBytes + 1, ' ') + "true").ok());
}

TEST(Condition, UndecidableConditionsAreErrors) {
  const std::map<std::string, Value> v = {{"steps.c.answer", Value("")},
                                          {"steps.m.output", Value(std::vector<std::string>{})}};
  auto r = eval("steps.c.answer > 10", v);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "'>' compares numbers: '' is not a number");
  r = eval("steps.x.output == 1", v);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("steps.x.output"), std::string::npos) << r.error().message;
  EXPECT_FALSE(eval("steps.m.output < 1", v).ok());
  EXPECT_FALSE(eval("steps.m.output in 'abc'", v).ok());
  EXPECT_FALSE(eval("true < 1", v).ok());
}

// Random edits of valid conditions: parse and evaluate never crash, parse errors lie
// inside the text, references too (the fuzz target's checks, run in every test pass).
TEST(Condition, MutatedConditionsNeverCrash) {
  const std::vector<std::string> seeds = {
      "steps.a.answer > inputs.limit and not (inputs.x | lower in ['a', \"b\"])",
      "{{ steps.a.output | trim contains 'yes' }}",
      "steps.m.output | length >= 2 or steps.m.output not in [1, -2.5]", "((not false)) == true",
      "missing == 1 or steps.b.output | default(\"x\") != 'y'"};
  const std::string alphabet = "()[]'\"|.,=!<>-+ 0123456789abcdefnotandorin{}\\\n";
  std::mt19937_64 rng(18);
  const std::map<std::string, Value> values = {
      {"steps.a.answer", Value("12")},
      {"inputs.limit", Value("10")},
      {"inputs.x", Value("A")},
      {"steps.a.output", Value("yes")},
      {"steps.m.output", Value(std::vector<std::string>{"1"})},
      {"steps.b.output", Value("")}};
  for (int i = 0; i < 20000; ++i) {
    std::string t = seeds[rng() % seeds.size()];
    for (int k = 1 + static_cast<int>(rng() % 4); k > 0; --k) {
      const std::size_t at = t.empty() ? 0 : rng() % (t.size() + 1);
      switch (rng() % 3) {
        case 0:
          t.insert(at, 1, alphabet[rng() % alphabet.size()]);
          break;
        case 1:
          if (at < t.size()) t.erase(at, 1 + rng() % 3);
          break;
        default:
          if (at < t.size()) t[at] = alphabet[rng() % alphabet.size()];
      }
    }
    std::size_t off = 0;
    auto c = Condition::parse(t, &off);
    if (!c.ok()) {
      ASSERT_LE(off, t.size()) << t;
      continue;
    }
    for (const auto& r : c->references())
      ASSERT_LT(r.offset, t.size()) << t;
    (void)eval(t, values);
  }
}

}  // namespace
}  // namespace agentrt::workflows
