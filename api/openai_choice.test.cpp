// ChoiceDecoder on tiny-calc's real tokenizer, one token at a time (markers and stop strings
// split across tokens): reasoning, content, tool calls, stop strings, logprobs.
#include "api/openai_choice.h"

#include <gtest/gtest.h>

namespace agentrt::api {
namespace {

const tokenizer::Tokenizer& tok() {
  static auto t =
      tokenizer::Tokenizer::load_dir(std::string(AGENTRT_SOURCE_DIR) + "/models/tiny-calc");
  EXPECT_TRUE(t.ok());
  return *t;
}

// Feeds `text` token by token; the last event ends with the EOS <|im_end|>.
ChoiceDelta run(ChoiceDecoder& d, const std::string& text) {
  auto ids = tok().encode(text + "<|im_end|>", false);
  ChoiceDelta all;
  auto add = [&](ChoiceDelta x) {
    all.content += x.content;
    all.reasoning += x.reasoning;
    for (auto& c : x.calls)
      all.calls.push_back(std::move(c));
    for (auto& l : x.logprobs)
      all.logprobs.push_back(std::move(l));
  };
  for (std::size_t i = 0; i < ids.size() && !d.stopped(); ++i) {
    actors::CompletionToken t{ids[i], -0.5f, {{ids[i], -0.5f}}};
    auto x = d.feed(std::span(&t, 1), i + 1 == ids.size());
    EXPECT_TRUE(x.ok());
    add(std::move(*x));
  }
  auto end = d.finish();
  EXPECT_TRUE(end.ok());
  add(std::move(*end));
  return all;
}

ChoiceOptions tools_on() {
  ChoiceOptions o;
  o.parse_tools = true;
  o.split_reasoning = true;
  return o;
}

TEST(ChoiceDecoder, SplitsReasoningContentAndToolCalls) {
  ChoiceDecoder d(tok(), tools_on());
  auto r = run(d,
               "<think>\nKate has 7 more\n</think>\n\nKate's stamps = 13 + 7\n<tool_call>\n"
               "{\"name\": \"calculator\", \"arguments\": {\"expression\": \"13 + 7\"}}\n"
               "</tool_call>");
  EXPECT_EQ(r.reasoning, "\nKate has 7 more\n");
  // The newline before the call is the template's, not content.
  EXPECT_EQ(r.content, "Kate's stamps = 13 + 7");
  ASSERT_EQ(r.calls.size(), 1u);
  EXPECT_EQ(r.calls[0].name, "calculator");
  EXPECT_EQ(r.calls[0].arguments["expression"], "13 + 7");
  EXPECT_EQ(r.calls[0].id.rfind("call_", 0), 0u);
  EXPECT_EQ(d.calls(), 1);
}

TEST(ChoiceDecoder, TextWithoutThinkOrToolsIsContent) {
  ChoiceOptions o;
  o.split_reasoning = true;
  o.want_logprobs = true;
  ChoiceDecoder d(tok(), o);
  auto r = run(d, "<thin is not a marker. Answer: 20");
  EXPECT_EQ(r.content, "<thin is not a marker. Answer: 20");
  EXPECT_TRUE(r.reasoning.empty());
  // Every token has its logprob, the EOS included; its text is not content.
  EXPECT_EQ(static_cast<std::int64_t>(r.logprobs.size()), d.tokens());
  EXPECT_EQ(r.logprobs.back().token, "<|im_end|>");
}

TEST(ChoiceDecoder, AStopStringEndsTheChoiceBeforeIt) {
  ChoiceOptions o = tools_on();
  o.stop = {"Answer:"};
  ChoiceDecoder d(tok(), o);
  auto r = run(d, "Kate has 20 stamps.\nAnswer: 20");
  EXPECT_TRUE(d.stopped());
  EXPECT_EQ(r.content, "Kate has 20 stamps.\n");
}

TEST(ChoiceDecoder, OnlyTheFirstCallWithoutParallelToolCalls) {
  ChoiceOptions o = tools_on();
  o.first_call_only = true;
  ChoiceDecoder d(tok(), o);
  auto r = run(d,
               "<tool_call>\n{\"name\": \"calculator\", \"arguments\": {\"expression\": \"1 + "
               "2\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"calculator\", \"arguments\": "
               "{\"expression\": \"3 + 4\"}}\n</tool_call>");
  ASSERT_EQ(r.calls.size(), 1u);
  EXPECT_EQ(r.calls[0].arguments["expression"], "1 + 2");
}

TEST(ChoiceDecoder, AMalformedCallBecomesText) {
  ChoiceDecoder d(tok(), tools_on());
  auto r = run(d, "<tool_call>\n{\"name\": calculator}\n</tool_call>");
  EXPECT_TRUE(r.calls.empty());
  EXPECT_NE(r.content.find("calculator"), std::string::npos);
}

TEST(ChoiceDecoder, WhitespaceBetweenAndAfterCallsIsNotContent) {
  ChoiceDecoder d(tok(), tools_on());
  auto r = run(d,
               "A = 1 + 2\nB = 3 + 4\n<tool_call>\n{\"name\": \"calculator\", \"arguments\": "
               "{\"expression\": \"1 + 2\"}}\n</tool_call>\n<tool_call>\n{\"name\": "
               "\"calculator\", \"arguments\": {\"expression\": \"3 + 4\"}}\n</tool_call>\n");
  EXPECT_EQ(r.content, "A = 1 + 2\nB = 3 + 4");
  EXPECT_EQ(r.calls.size(), 2u);
  ChoiceDecoder plain(tok(), tools_on());
  EXPECT_EQ(run(plain, "Answer: 7\n\n").content, "Answer: 7\n\n");  // no call: kept
}

}  // namespace
}  // namespace agentrt::api
