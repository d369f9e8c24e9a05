// Errors and caps of the Jinja interpreter: messages name SOURCE:LINE:COL, and hostile
// templates (deep nesting, endless recursion, output or loop blow-up) fail cleanly.
// Rendering semantics are golden-tested against @huggingface/jinja in tests/jinja.
#include "engine/chat/jinja/template.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace agentrt::chat::jinja {
namespace {

using Json = nlohmann::ordered_json;

Result<std::string> render(const std::string& text, const Json& context = Json::object(),
                           const Limits& limits = Limits()) {
  auto t = Template::parse(text, "t.jinja");
  if (!t.ok()) return t.error();
  return t->render(context, limits);
}

TEST(JinjaTemplate, RendersMessages) {
  const Json ctx = {{"messages", {{{"role", "user"}, {"content", "hi"}}}}};
  auto out = render("{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}", ctx);
  ASSERT_TRUE(out.ok()) << out.error().to_string();
  EXPECT_EQ(*out, "<user>hi");
}

TEST(JinjaTemplate, ParseErrorsNameLineAndColumn) {
  auto out = render("line one\n{{ 1 + }}");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, ErrorCode::parse);
  EXPECT_EQ(out.error().message.rfind("t.jinja:2:", 0), 0u) << out.error().message;
  auto unclosed = render("{% if x %}never closed");
  ASSERT_FALSE(unclosed.ok());
  EXPECT_NE(unclosed.error().message.find("t.jinja:1:"), std::string::npos);
  EXPECT_FALSE(render("{{ 'unterminated").ok());
  EXPECT_FALSE(render("{% unknown %}").ok());
  EXPECT_FALSE(render("{# open comment").ok());
}

TEST(JinjaTemplate, RaiseExceptionNamesThePlace) {
  auto out = render("ok\n  {{ raise_exception('bad roles') }}");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().message, "t.jinja:2:6: bad roles");
}

TEST(JinjaTemplate, RuntimeErrorsNameTheNode) {
  auto out = render("{{ 'a' | nosuch }}");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().message, "t.jinja:1:8: Unknown StringValue filter: nosuch");
}

// Found by fuzz_jinja under UBSan: a number too large for int64 reached a double-to-int
// conversion (undefined behaviour). Each conversion now fails with "integer overflow".
TEST(JinjaTemplate, NumbersOutsideInt64AreAnErrorWhereAnIntegerIsAsked) {
  const std::string huge(70, '6');
  for (const std::string& text : std::vector<std::string>{
           "{{ '" + huge + "' | int }}", "{{ '" + huge + "' | int(0) }}",
           "{{ 10000000000000000000.0 | int }}", "{{ -9300000000000000000.0 | int }}",
           "{{ 2 ** 63 }}", "{{ (-2) ** 64 }}"}) {
    auto out = render(text);
    ASSERT_FALSE(out.ok()) << text << " gave " << *out;
    EXPECT_NE(out.error().message.find("integer overflow"), std::string::npos)
        << text << ": " << out.error().message;
  }
  auto in_range =
      render("{{ '123' | int }} {{ 'x' | int }} {{ 9100000000000000000.0 | int }} {{ 2 ** 62 }}");
  ASSERT_TRUE(in_range.ok()) << in_range.error().to_string();
  EXPECT_EQ(*in_range, "123 0 9100000000000000000 4611686018427387904");
}

TEST(JinjaTemplate, DeepNestingIsRefusedAtParse) {
  std::string deep(5000, '(');
  deep = "{{ " + deep + "1" + std::string(5000, ')') + " }}";
  auto out = render(deep);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.error().message.find("nested deeper"), std::string::npos);
  std::string chain = "{{ 1";
  for (int k = 0; k < 5000; ++k)
    chain += " + 1";
  EXPECT_FALSE(render(chain + " }}").ok());
  std::string ifs;
  for (int k = 0; k < 5000; ++k)
    ifs += "{% if true %}";
  EXPECT_FALSE(render(ifs).ok());
}

TEST(JinjaTemplate, EndlessRecursionIsAnError) {
  auto out = render("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}");
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.error().message.find("nested deeper"), std::string::npos);
}

TEST(JinjaTemplate, OutputAndLoopsAreCapped) {
  Limits limits;
  limits.max_output_bytes = 1000;
  limits.max_iterations = 100;
  auto doubling = render(
      "{% set ns = namespace(s='x') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}"
      "{% endfor %}{{ ns.s }}",
      Json::object(), limits);
  ASSERT_FALSE(doubling.ok());
  EXPECT_NE(doubling.error().message.find("longer than 1000 bytes"), std::string::npos);
  auto loops = render("{% for i in range(50) %}{% for j in range(50) %}{% endfor %}{% endfor %}",
                      Json::object(), limits);
  ASSERT_FALSE(loops.ok());
  EXPECT_NE(loops.error().message.find("loop iterations"), std::string::npos);
  limits.max_items = 10;
  EXPECT_FALSE(render("{{ range(1000) | length }}", Json::object(), limits).ok());
}

TEST(JinjaTemplate, SelfReferencesDoNotHangOrLeak) {
  auto out = render("{% set ns = namespace() %}{% set ns.me = ns %}{{ ns | tojson }}");
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.error().message.find("nested deeper"), std::string::npos);
  auto caller = render(
      "{% set ns = namespace() %}{% macro keep() %}{% set ns.c = caller %}{% endmacro %}"
      "{% call keep() %}x{% endcall %}{{ ns.c() }}");
  ASSERT_TRUE(caller.ok()) << caller.error().to_string();
  EXPECT_EQ(*caller, "x");
}

TEST(JinjaTemplate, RendersConcurrentlyFromOneTemplate) {
  auto t = Template::parse("{{ x * 2 }}", "t");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t->render({{"x", 2}}), "4");
  EXPECT_EQ(*t->render({{"x", 5}}), "10");
}

}  // namespace
}  // namespace agentrt::chat::jinja
