// Template parsing and rendering: paths, literals, filters, lists, and syntax errors with
// their offsets.
#include "workflows/template.h"

#include <gtest/gtest.h>

#include <map>

namespace agentrt::workflows {
namespace {

Template parse(const std::string& text) {
  auto t = Template::parse(text);
  EXPECT_TRUE(t.ok()) << text << ": " << (t.ok() ? "" : t.error().message);
  return t.ok() ? *t : Template();
}

Value render(const std::string& text, const std::map<std::string, Value>& vars) {
  auto r = parse(text).render([&](const std::vector<std::string>& path) -> std::optional<Value> {
    std::string key;
    for (std::size_t i = 0; i < path.size(); ++i)
      key += (i ? "." : "") + path[i];
    auto it = vars.find(key);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  });
  EXPECT_TRUE(r.ok()) << text;
  return r.ok() ? *r : Value();
}

TEST(Template, PlainTextHasNoExpressions) {
  auto t = parse("no braces here } { }");
  EXPECT_TRUE(t.expressions().empty());
  EXPECT_EQ(render("no braces here } { }", {}).text(), "no braces here } { }");
}

TEST(Template, SubstitutesPathsAndKeepsText) {
  std::map<std::string, Value> v{{"inputs.q", "2 + 2?"}, {"steps.s.answer", "4"}};
  EXPECT_EQ(render("Q: {{ inputs.q }} A: {{steps.s.answer}}.", v).text(), "Q: 2 + 2? A: 4.");
  auto t = parse("Q: {{ inputs.q }} A: {{steps.s.answer}}.");
  ASSERT_EQ(t.expressions().size(), 2u);
  EXPECT_EQ(t.expressions()[0].offset, 3u);
  EXPECT_EQ(t.expressions()[1].dotted(), "steps.s.answer");
  EXPECT_EQ(t.expressions()[1].source, "{{steps.s.answer}}");
}

TEST(Template, SingleExpressionKeepsListsAndTextJoinsThem) {
  std::map<std::string, Value> v{{"xs", std::vector<std::string>{"a", "b", "c"}}};
  EXPECT_TRUE(render("{{ xs }}", v).is_list());
  EXPECT_EQ(render(" {{ xs }}", v).text(), " a\nb\nc");
  EXPECT_EQ(render("{{ xs | join(\", \") }}", v).text(), "a, b, c");
  EXPECT_EQ(render("{{ xs | length }}", v).text(), "3");
  EXPECT_EQ(render("{{ xs | first }}-{{ xs | last }}", v).text(), "a-c");
  EXPECT_EQ(render("{{ xs | upper | json }}", v).text(), R"(["A","B","C"])");
}

TEST(Template, MarksWhereEachPathValueLands) {
  std::map<std::string, Value> vars{{"inputs.doc", "the document"},
                                    {"xs", std::vector<std::string>{"one", "", "three"}}};
  auto lookup = [&](const std::vector<std::string>& path) -> std::optional<Value> {
    std::string key;
    for (std::size_t i = 0; i < path.size(); ++i)
      key += (i ? "." : "") + path[i];
    auto it = vars.find(key);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
  std::vector<TemplateMark> marks;
  auto r = parse("Read {{ inputs.doc }} {{ 'lit' }}:\n{{ xs }}|{{ inputs.doc | upper }}")
               .render(lookup, &marks);
  ASSERT_TRUE(r.ok());
  const std::string text = r->to_text();
  ASSERT_EQ(marks.size(), 4u);  // the literal and the empty item leave none
  std::vector<std::string> got;
  for (const auto& m : marks)
    got.push_back(text.substr(m.begin, m.end - m.begin));
  EXPECT_EQ(got, (std::vector<std::string>{"the document", "one", "three", "THE DOCUMENT"}));
  EXPECT_EQ(marks[1].expr, 2);
  EXPECT_EQ(marks[3].expr, 3);
  // A lone list expression: items in the joined text.
  marks.clear();
  r = parse("{{ xs }}").render(lookup, &marks);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(marks.size(), 2u);
  EXPECT_EQ(r->to_text().substr(marks[1].begin, marks[1].end - marks[1].begin), "three");
}

TEST(Template, Filters) {
  std::map<std::string, Value> v{{"s", "  Hello\nWorld  "}, {"e", ""}};
  EXPECT_EQ(render("{{ s | trim | lower }}", v).text(), "hello\nworld");
  EXPECT_EQ(render("{{ s | lines | length }}", v).text(), "2");
  EXPECT_EQ(render("{{ e | default('none') }}", v).text(), "none");
  EXPECT_EQ(render("{{ s | trim | default('none') }}", v).text(), "Hello\nWorld");
  EXPECT_EQ(render("{{ s | trim | indent(2) }}", v).text(), "  Hello\n  World");
  EXPECT_EQ(render("{{ s | json }}", v).text(), R"("  Hello\nWorld  ")");
  EXPECT_EQ(render(R"({{ "{{" }} literal)", v).text(), "{{ literal");
}

TEST(Template, JsonArrayTextIsAList) {
  std::map<std::string, Value> v{{"j", R"(["x", 2, "y z"])"}};
  EXPECT_EQ(render("{{ j | join('|') }}", v).text(), "x|2|y z");
}

TEST(Template, UnknownPathIsAnErrorAtRenderTime) {
  auto r =
      parse("a {{ nope.x }}").render([](const std::vector<std::string>&) -> std::optional<Value> {
        return std::nullopt;
      });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "{{ nope.x }} names nothing");
}

TEST(Template, SyntaxErrorsWithOffsets) {
  struct Case {
    const char* text;
    std::size_t offset;
    const char* message;
  };
  const Case cases[] = {
      {"ab {{ x", 3, "unclosed '{{'"},
      {"{{ }}", 3, "empty expression"},
      {"{{ a. }}", 5, "expected a name"},
      {"{{ a b }}", 5, "unexpected 'b'"},
      {"{{ a | nope }}", 7, "unknown filter 'nope'"},
      {"{{ a | join(1, 2) }}", 7, "filter 'join' takes 0 to 1 argument(s), got 2"},
      {"{{ a | default }}", 7, "filter 'default' takes 1 argument(s), got 0"},
      {"{{ 'open }}", 9, "unterminated string literal"},
      {"{{ a | join(x) }}", 12, "filter arguments are quoted strings or integers"},
      {"{{ a | }}", 7, "expected a filter name"},
      {"{{ 9lives }}", 3, "expected a name"},
  };
  for (const auto& c : cases) {
    std::size_t offset = 999;
    auto t = Template::parse(c.text, &offset);
    ASSERT_FALSE(t.ok()) << c.text;
    EXPECT_NE(t.error().message.find(c.message), std::string::npos)
        << c.text << ": " << t.error().message;
    EXPECT_EQ(offset, c.offset) << c.text;
  }
}

TEST(Value, ToListSplitsLinesOrReadsJson) {
  EXPECT_EQ(Value("a\n\n b \r\nc").to_list(), (std::vector<std::string>{"a", " b ", "c"}));
  EXPECT_EQ(Value(" [\"a\", \"b\"]").to_list(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(Value("[not json").to_list(), (std::vector<std::string>{"[not json"}));
  EXPECT_EQ(Value(std::vector<std::string>{"x", "y"}).to_text(), "x\ny");
}

}  // namespace
}  // namespace agentrt::workflows
