// Prompt segments (issue 21): spans merge and nest as documented, and marked text becomes
// the token spans of the rendered, tokenized first prompt (tiny-calc's Qwen ChatML
// template and tokenizer): decoded, each span is the marked text less at most one token
// at an edge the tokenizer merged with the text around it.
#include "actors/prompt_segments.h"

#include <gtest/gtest.h>

#include "actors/agent_prompt.h"

namespace agentrt::actors {
namespace {

const tokenizer::Tokenizer& tiny_calc() {
  static const tokenizer::Tokenizer tok = [] {
    auto t = tokenizer::Tokenizer::load_dir(std::string(AGENTRT_SOURCE_DIR) + "/models/tiny-calc");
    EXPECT_TRUE(t.ok());
    return *t;
  }();
  return tok;
}

std::string span_text(std::span<const std::int32_t> tokens, const PromptSegment& s) {
  auto t = tiny_calc().decode(tokens.subspan(s.begin, s.end - s.begin), false);
  return t.ok() ? *t : "?";
}

TEST(PromptSegments, InnerSpansCutOuterOnes) {
  EXPECT_EQ(merge_spans({{0, 10}, {20, 30}}, {{4, 6}}),
            (std::vector<TextSpan>{{0, 4}, {4, 6}, {6, 10}, {20, 30}}));
  EXPECT_EQ(merge_spans({{0, 10}, {5, 12}}, {}), (std::vector<TextSpan>{{0, 12}}));
  EXPECT_EQ(merge_spans({{2, 8}}, {{0, 4}, {6, 9}}),
            (std::vector<TextSpan>{{0, 4}, {4, 6}, {6, 9}}));
  EXPECT_EQ(find_all("abcabcab", "ab"), (std::vector<TextSpan>{{0, 2}, {3, 5}, {6, 8}}));
  EXPECT_TRUE(find_all("abc", "").empty());
}

TEST(PromptSegments, PlacedWhereTheContentIsOrPieceByPiece) {
  const std::vector<TextSpan> spans{{2, 5}};
  EXPECT_EQ(place_spans("xx hello hello", "hello", spans, 0, true),
            (std::vector<TextSpan>{{11, 14}}));
  std::size_t end = 0;
  EXPECT_EQ(place_spans("xx hello hello", "hello", spans, 0, false, &end),
            (std::vector<TextSpan>{{5, 8}}));
  EXPECT_EQ(end, 8u);
  // The template trimmed the content: the span's own text is found.
  EXPECT_EQ(place_spans("<u>hello</u>", "  hello  ", std::vector<TextSpan>{{2, 7}}, 0, true),
            (std::vector<TextSpan>{{3, 8}}));
}

TEST(PromptSegments, FirstPromptCarriesTokenSpansOfTheMarkedText) {
  const std::string doc = "Tara has 9 cookies and Quinn has 4 more cookies than Tara.";
  const std::string prior = "Kate has 3 cookies. Sam has 5 cookies. Answer: 8";
  AgentSpec spec;
  spec.system_prompt = "You check proposed answers. Document: " + doc;
  spec.system_segments = {{spec.system_prompt.size() - doc.size(), spec.system_prompt.size()}};
  const std::string input = "Proposed: " + prior + "\nIs it right?";
  spec.input_segments = {{10, 10 + prior.size()}};
  spec.min_segment_tokens = 4;
  ToolRegistry tools;
  // exact: no segments.
  auto exact = render_first_prompt(chat::Family::chatml_qwen, tiny_calc(), tools, spec, input);
  ASSERT_TRUE(exact.ok());
  EXPECT_TRUE(exact->segments.empty());
  spec.kv_reuse = KvReuse::blend;
  auto p = render_first_prompt(chat::Family::chatml_qwen, tiny_calc(), tools, spec, input);
  ASSERT_TRUE(p.ok()) << p.error().to_string();
  ASSERT_EQ(p->segments.size(), 2u);
  EXPECT_TRUE(check_segments(p->segments, std::ssize(p->tokens)).ok());
  // The marked text less its first and last word, whose tokens depend on their neighbours.
  EXPECT_EQ(span_text(p->tokens, p->segments[0]),
            " has 9 cookies and Quinn has 4 more cookies than");
  EXPECT_EQ(span_text(p->tokens, p->segments[1]), " has 3 cookies. Sam has 5 cookies. Answer:");
  // A minimum longer than the spans drops them.
  spec.min_segment_tokens = 64;
  auto none = render_first_prompt(chat::Family::chatml_qwen, tiny_calc(), tools, spec, input);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->segments.empty());
}

TEST(PromptSegments, ChatMessagesAreSegmentsInOrder) {
  chat::Conversation c;
  c.messages = {
      {chat::Role::system, "You are terse.", {}, {}, {}, {}},
      {chat::Role::user, "Sam has 13 stamps. Kate has 7 more stamps than Sam.", {}, {}, {}, {}},
      {chat::Role::assistant, "Kate has 20 stamps.", {}, {}, {}, {}},
      {chat::Role::user, "Sam has 13 stamps. Kate has 7 more stamps than Sam.", {}, {}, {}, {}}};
  chat::RenderOptions ro;
  ro.add_generation_prompt = true;
  ro.enable_thinking = false;
  auto text = chat::ChatTemplate::of_family(chat::Family::chatml_qwen).render(c, ro);
  ASSERT_TRUE(text.ok());
  const auto spans = place_messages(*text, c.messages);
  ASSERT_EQ(spans.size(), 4u);
  for (std::size_t i = 0; i < spans.size(); ++i)
    EXPECT_EQ(text->substr(spans[i].begin, spans[i].end - spans[i].begin), c.messages[i].content);
  EXPECT_LT(spans[1].end, spans[3].begin);  // the repeated message: its own place
  const auto tokens = tiny_calc().encode(*text, false);
  const auto segs = token_spans(tiny_calc(), tokens, *text, spans, 2);
  // "You are terse." keeps one token (" are") between its first and last word: below 2.
  ASSERT_EQ(segs.size(), 3u);
  EXPECT_EQ(span_text(tokens, segs[2]), " has 13 stamps. Kate has 7 more stamps than");
}

// The cache finds a segment by its exact tokens: one value, templated after a newline, after
// a space and before punctuation, gives the same tokens each time.
TEST(PromptSegments, OneValueGivesTheSameTokensInEveryContext) {
  const std::string value = "Quinn has 3 fewer cookies than Jack, who has 9 cookies.";
  std::vector<std::vector<std::int32_t>> seen;
  for (const char* before : {"\n", "Question: ", "(", "x"})
    for (const char* after : {"", "\n", "?", " Check it.", "Z"}) {
      const std::string text =
          std::string("<|im_start|>user") + before + value + after + "<|im_end|>";
      const auto tokens = tiny_calc().encode(text, false);
      const std::size_t at = text.find(value);
      const std::vector<TextSpan> r{{at, at + value.size()}};
      const auto segs = token_spans(tiny_calc(), tokens, text, r, 1);
      ASSERT_EQ(segs.size(), 1u) << text;
      seen.emplace_back(tokens.begin() + segs[0].begin, tokens.begin() + segs[0].end);
    }
  for (const auto& s : seen)
    EXPECT_EQ(s, seen[0]);
  EXPECT_GE(seen[0].size(), 10u);
}

// A resumed turn's appended tokens (tiny-calc's ChatML tool responses): each tool result
// found in order, the same tokens as the result quoted in another prompt.
TEST(PromptSegments, TextSegmentsFindToolResultsInAppendedTokens) {
  const std::vector<std::string> results{
      "The calculator service says the result is 20, checked twice",
      "error: tool 'calc' timed out after 5000 ms",
      "The calculator service says the result is 20, checked twice"};
  auto suffix = tool_results_suffix(chat::Family::chatml_qwen, results, std::nullopt);
  ASSERT_TRUE(suffix.ok());
  const auto appended = tiny_calc().encode(*suffix, false);
  const auto segs = text_segments(tiny_calc(), appended, results, 4);
  ASSERT_EQ(segs.size(), 3u);
  EXPECT_EQ(span_text(appended, segs[0]), " calculator service says the result is 20, checked");
  EXPECT_EQ(span_text(appended, segs[2]), span_text(appended, segs[0]));
  EXPECT_LT(segs[0].end, segs[1].begin);
  EXPECT_LT(segs[1].end, segs[2].begin);
  const std::string quoted = "The tool said: " + results[0] + "\nIs it right?";
  const auto q = tiny_calc().encode(quoted, false);
  const auto in_quote = text_segments(tiny_calc(), q, std::span(results).first(1), 4);
  ASSERT_EQ(in_quote.size(), 1u);
  EXPECT_TRUE(std::equal(q.begin() + in_quote[0].begin, q.begin() + in_quote[0].end,
                         appended.begin() + segs[0].begin, appended.begin() + segs[0].end));
  // Under the minimum, or not there: nothing.
  EXPECT_TRUE(text_segments(tiny_calc(), appended, results, 100).empty());
  const std::vector<std::string> absent{"nowhere in these tokens"};
  EXPECT_TRUE(text_segments(tiny_calc(), appended, absent, 1).empty());
}

}  // namespace
}  // namespace agentrt::actors
