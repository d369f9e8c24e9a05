// Tool-call parsing: whole replies, streaming in every possible piece split, malformed JSON,
// and randomized mutations (no crashes, streaming agrees with whole-reply parsing).
#include "engine/chat/tool_call_parser.h"

#include <gtest/gtest.h>

#include <random>

namespace agentrt::chat {
namespace {

const std::string kQwenReply =
    "<think>\nNeed weather.\n</think>\n\nLet me check.\n<tool_call>\n{\"name\": \"get_weather\", "
    "\"arguments\": {\"city\": \"Paris\", \"days\": [1, "
    "2]}}\n</tool_call>\n<tool_call>\n{\"name\": "
    "\"web_search\", \"arguments\": {\"query\": \"a } tricky \\\" string\"}}\n</tool_call>";
const std::string kLlamaReply =
    "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Tokyo\", \"unit\": \"c\"}}";

// Streams text in pieces of the given sizes (cycled) and collects the events.
Result<std::vector<StreamEvent>> stream(Family family, const std::string& text, std::size_t step) {
  ToolCallStream s(family);
  std::vector<StreamEvent> events;
  for (std::size_t i = 0; i < text.size(); i += step)
    AGENTRT_TRY(s.feed(text.substr(i, step), events));
  AGENTRT_TRY(s.finish(events));
  return events;
}

std::string joined_text(const std::vector<StreamEvent>& events) {
  std::string out;
  for (const auto& e : events)
    if (e.kind == StreamEvent::Kind::text) out += e.text;
  return out;
}

std::vector<ToolCall> calls_of(const std::vector<StreamEvent>& events) {
  std::vector<ToolCall> out;
  for (const auto& e : events)
    if (e.kind == StreamEvent::Kind::call_completed) out.push_back(e.call);
  return out;
}

TEST(ParseReply, QwenCallsReasoningAndContent) {
  auto r = parse_reply(Family::chatml_qwen, kQwenReply);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->reasoning, "Need weather.");
  EXPECT_EQ(r->content, "Let me check.");
  ASSERT_EQ(r->tool_calls.size(), 2u);
  EXPECT_EQ(r->tool_calls[0].name, "get_weather");
  EXPECT_EQ(r->tool_calls[0].arguments.dump(), R"({"city":"Paris","days":[1,2]})");
  EXPECT_EQ(r->tool_calls[1].arguments["query"], "a } tricky \" string");
}

TEST(ParseReply, LlamaJsonCallAndPlainText) {
  auto r = parse_reply(Family::llama3, "  <|python_tag|>" + kLlamaReply + "; " + kLlamaReply);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  ASSERT_EQ(r->tool_calls.size(), 2u);
  EXPECT_EQ(r->tool_calls[0].arguments["city"], "Tokyo");
  auto text = parse_reply(Family::llama3, "The answer is 4.");
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text->content, "The answer is 4.");
  EXPECT_TRUE(text->tool_calls.empty());
  auto json_answer = parse_reply(Family::llama3, "{\"answer\": 4}");
  ASSERT_TRUE(json_answer.ok());
  EXPECT_EQ(json_answer->content, "{\"answer\": 4}");
}

TEST(ParseReply, MalformedJsonNamesCallAndByte) {
  const std::string bad =
      "Hi <tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": }}\n</tool_call>";
  auto r = parse_reply(Family::chatml_qwen, bad);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::parse);
  EXPECT_EQ(r.error().message.rfind("tool call 1: invalid JSON at byte 48", 0), 0u)
      << r.error().message;
  EXPECT_EQ(bad[48], '}');
  auto l = parse_reply(Family::llama3, "{\"name\": \"f\", \"parameters\": {\"x\": tru}}");
  ASSERT_FALSE(l.ok());
  EXPECT_NE(l.error().message.find("tool call 1: invalid JSON at byte"), std::string::npos);
  auto no_name = parse_reply(Family::chatml_qwen, "<tool_call>{\"arguments\": {}}</tool_call>");
  ASSERT_FALSE(no_name.ok());
  EXPECT_EQ(no_name.error().message, "tool call 1: /name: expected a string");
}

TEST(ToolCallStream, QwenEveryPieceSizeGivesSameResult) {
  for (std::size_t step = 1; step <= kQwenReply.size(); ++step) {
    auto events = stream(Family::chatml_qwen, kQwenReply, step);
    ASSERT_TRUE(events.ok()) << "step " << step << ": " << events.error().to_string();
    EXPECT_EQ(joined_text(*events), "<think>\nNeed weather.\n</think>\n\nLet me check.\n\n");
    auto calls = calls_of(*events);
    ASSERT_EQ(calls.size(), 2u) << "step " << step;
    EXPECT_EQ(calls[1].name, "web_search");
  }
}

TEST(ToolCallStream, QwenNeverStreamsPartialMarkerAndStopsAtCallEnd) {
  ToolCallStream s(Family::chatml_qwen);
  std::vector<StreamEvent> events;
  ASSERT_TRUE(s.feed("Sure <tool_", events).ok());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].text, "Sure ");
  ASSERT_TRUE(s.feed("call>\n{\"name\": \"f\", \"arguments\": {}}\n</tool_", events).ok());
  EXPECT_EQ(events.back().kind, StreamEvent::Kind::call_started);
  EXPECT_FALSE(s.at_call_end());
  ASSERT_TRUE(s.feed("call>", events).ok());
  EXPECT_EQ(events.back().kind, StreamEvent::Kind::call_completed);
  EXPECT_TRUE(s.at_call_end());
  ASSERT_TRUE(s.feed("\n", events).ok());
  EXPECT_TRUE(s.at_call_end());
  EXPECT_EQ(s.calls_completed(), 1);
  ASSERT_TRUE(s.finish(events).ok());
  // A partial marker at the very end is plain text after all.
  auto tail = stream(Family::chatml_qwen, "x <tool_ca", 3);
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(joined_text(*tail), "x <tool_ca");
}

TEST(ToolCallStream, QwenUnclosedCallFailsAtFinish) {
  auto r = stream(Family::chatml_qwen, "<tool_call>{\"name\": \"f\"", 4);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("missing </tool_call>"), std::string::npos);
}

TEST(ToolCallStream, LlamaCallEndsMessage) {
  for (std::size_t step = 1; step <= kLlamaReply.size(); ++step) {
    auto events = stream(Family::llama3, "\n" + kLlamaReply, step);
    ASSERT_TRUE(events.ok()) << events.error().to_string();
    ASSERT_EQ(calls_of(*events).size(), 1u);
    EXPECT_EQ(joined_text(*events), "");
    EXPECT_EQ(events->front().kind, StreamEvent::Kind::call_started);
  }
  ToolCallStream s(Family::llama3);
  std::vector<StreamEvent> events;
  ASSERT_TRUE(s.feed(kLlamaReply, events).ok());
  EXPECT_TRUE(s.at_call_end());
  auto text = stream(Family::llama3, "  Hello {not a call}", 2);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(joined_text(*text), "  Hello {not a call}");
  auto json_answer = stream(Family::llama3, "{\"answer\": {\"x\": 4}}", 3);
  ASSERT_TRUE(json_answer.ok()) << json_answer.error().to_string();
  EXPECT_EQ(joined_text(*json_answer), "{\"answer\": {\"x\": 4}}");
  EXPECT_TRUE(calls_of(*json_answer).empty());
  auto tagged = stream(Family::llama3, "<|python_tag|>" + kLlamaReply, 5);
  ASSERT_TRUE(tagged.ok());
  EXPECT_EQ(calls_of(*tagged).size(), 1u);
}

// Random mutations of valid replies: parsers must return a value or an error, never crash,
// and the stream (in random piece sizes) must find the same calls as parse_reply.
TEST(ToolCallFuzz, RandomMutationsNeverCrash) {
  std::mt19937 rng(1234);
  const std::string alphabet = "{}[]\":,\\ <>/_tolcaename\n0123456789";
  for (Family family : {Family::chatml_qwen, Family::llama3}) {
    const std::string base = family == Family::llama3 ? kLlamaReply : kQwenReply;
    for (int iter = 0; iter < 3000; ++iter) {
      std::string text = base;
      const int edits = 1 + static_cast<int>(rng() % 4);
      for (int e = 0; e < edits && !text.empty(); ++e) {
        const std::size_t pos = rng() % text.size();
        switch (rng() % 3) {
          case 0:
            text.erase(pos, 1 + rng() % 3);
            break;
          case 1:
            text.insert(pos, 1, alphabet[rng() % alphabet.size()]);
            break;
          default:
            text[pos] = static_cast<char>(rng() % 256);
        }
      }
      auto whole = parse_reply(family, text);
      auto streamed = stream(family, text, 1 + rng() % 7);
      if (whole.ok() && streamed.ok() && family == Family::chatml_qwen) {
        EXPECT_EQ(whole->tool_calls.size(), calls_of(*streamed).size()) << text;
      }
    }
  }
}

TEST(ToolCallParser, RefusesDeepArgumentsWithTheirByte) {
  const std::string deep = std::string(50000, '[') + std::string(50000, ']');
  auto qwen =
      parse_reply(Family::chatml_qwen,
                  "<tool_call>\n{\"name\": \"f\", \"arguments\": " + deep + "}\n</tool_call>");
  ASSERT_FALSE(qwen.ok());
  EXPECT_EQ(qwen.error().message, "tool call 1: JSON nested deeper than 128 levels at byte 166");
  auto llama = parse_reply(Family::llama3, "{\"name\": \"f\", \"parameters\": " + deep + "}");
  ASSERT_FALSE(llama.ok());
  EXPECT_EQ(llama.error().message, "tool call 1: JSON nested deeper than 128 levels at byte 155");
}

TEST(ToolCallParser, StreamFailsAsSoonAsAnOpenCallNestsTooDeep) {
  for (Family family : {Family::chatml_qwen, Family::llama3}) {
    ToolCallStream s(family);
    std::vector<StreamEvent> events;
    const std::string open =
        family == Family::llama3 ? "{\"name\": \"f\", \"parameters\": " : "<tool_call>{\"a\": ";
    ASSERT_TRUE(s.feed(open, events).ok());
    Status st = ok_status();
    int fed = 0;
    while (st.ok() && fed < 1000) {
      st = s.feed("[", events);
      ++fed;
    }
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(fed, 128);  // the object is level 1, so the 128th '[' is level 129
    EXPECT_NE(st.error().message.find("nested deeper than 128 levels"), std::string::npos);
  }
}

}  // namespace
}  // namespace agentrt::chat
