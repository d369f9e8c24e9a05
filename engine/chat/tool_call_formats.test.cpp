// Tool-call formats beyond Qwen and Llama: Mistral [TOOL_CALLS] (v3 JSON array and v11
// NAME[ARGS]{...}), gpt-oss harmony, and plain-text templates; the format detected from
// real chat templates. Each reply is streamed in every piece size and must give the same
// events as parse_reply; malformed calls fail with the call's number and byte.
#include <gtest/gtest.h>

#include "engine/chat/tool_call_parser.h"
#include "engine/tokenizer/tokenizer_test_util.h"

namespace agentrt::chat {
namespace {

const std::string kMistralV3 =
    "Let me check.[TOOL_CALLS] [{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}, "
    "\"id\": \"abc123def\"}, {\"name\": \"web_search\", \"arguments\": {\"query\": \"a ] tricky "
    "\\\" string\"}}]</s>";
const std::string kMistralV11 =
    "[TOOL_CALLS]get_weather[ARGS]{\"city\": \"Paris\", \"days\": [1, 2]}[TOOL_CALLS]web_search"
    "[ARGS]{\"query\": \"x}\"}</s>";
const std::string kHarmonyCall =
    "<|channel|>analysis<|message|>Need the weather in Paris.<|end|><|start|>assistant"
    "<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{\"city\": "
    "\"Paris\"}<|call|>";
const std::string kHarmonyFinal =
    "<|channel|>analysis<|message|>Easy.<|end|><|start|>assistant<|channel|>final<|message|>It "
    "is sunny in Paris.<|return|>";

struct Streamed {
  std::vector<StreamEvent> events;
  std::string reasoning;
};

Result<Streamed> stream(ToolCallFormat format, const std::string& text, std::size_t step) {
  ToolCallStream s(format);
  Streamed out;
  for (std::size_t i = 0; i < text.size(); i += step)
    AGENTRT_TRY(s.feed(text.substr(i, step), out.events));
  AGENTRT_TRY(s.finish(out.events));
  out.reasoning = s.reasoning();
  return out;
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

// Every piece size gives the whole reply's parse.
void expect_same_in_every_split(ToolCallFormat format, const std::string& text) {
  auto whole = parse_reply(format, text);
  ASSERT_TRUE(whole.ok()) << whole.error().to_string();
  for (std::size_t step = 1; step <= text.size(); ++step) {
    auto s = stream(format, text, step);
    ASSERT_TRUE(s.ok()) << "step " << step << ": " << s.error().to_string();
    const auto calls = calls_of(s->events);
    ASSERT_EQ(calls.size(), whole->tool_calls.size()) << "step " << step;
    for (std::size_t i = 0; i < calls.size(); ++i) {
      EXPECT_EQ(calls[i].name, whole->tool_calls[i].name);
      EXPECT_EQ(calls[i].arguments, whole->tool_calls[i].arguments);
    }
    EXPECT_EQ(joined_text(s->events).find("[TOOL_CALLS]"), std::string::npos);
    EXPECT_EQ(joined_text(s->events).find("<|"), std::string::npos) << "step " << step;
  }
}

TEST(ToolCallFormats, MistralV3Array) {
  auto r = parse_reply(ToolCallFormat::mistral, kMistralV3);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->content, "Let me check.");
  ASSERT_EQ(r->tool_calls.size(), 2u);
  EXPECT_EQ(r->tool_calls[0].name, "get_weather");
  EXPECT_EQ(r->tool_calls[0].id, "abc123def");
  EXPECT_EQ(r->tool_calls[0].arguments, Json::parse(R"({"city": "Paris"})"));
  EXPECT_EQ(r->tool_calls[1].arguments["query"], "a ] tricky \" string");
  expect_same_in_every_split(ToolCallFormat::mistral, kMistralV3);
}

TEST(ToolCallFormats, MistralV11NameArgs) {
  auto r = parse_reply(ToolCallFormat::mistral, kMistralV11);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->content, "");
  ASSERT_EQ(r->tool_calls.size(), 2u);
  EXPECT_EQ(r->tool_calls[0].name, "get_weather");
  EXPECT_EQ(r->tool_calls[0].arguments["days"], Json::parse("[1, 2]"));
  EXPECT_EQ(r->tool_calls[1].name, "web_search");
  EXPECT_EQ(r->tool_calls[1].arguments["query"], "x}");
  expect_same_in_every_split(ToolCallFormat::mistral, kMistralV11);
}

TEST(ToolCallFormats, MistralPlainTextAndHeldMarker) {
  auto r = parse_reply(ToolCallFormat::mistral, "The answer is 4.</s>");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->content, "The answer is 4.");
  EXPECT_TRUE(r->tool_calls.empty());
  ToolCallStream s(ToolCallFormat::mistral);
  std::vector<StreamEvent> events;
  ASSERT_TRUE(s.feed("Hi [TOOL_", events).ok());
  EXPECT_EQ(joined_text(events), "Hi ");  // the partial marker is held back
  ASSERT_TRUE(s.feed("CALLS][{\"name\": \"f\", \"arguments\": {}}]", events).ok());
  EXPECT_TRUE(s.at_call_end());
  EXPECT_EQ(s.calls_completed(), 1);
}

// </s> is a boundary: the text on its two sides never joins into a marker, however the
// reply is split (found by fuzz_tool_call_reply: the whole reply used to parse a call).
TEST(ToolCallFormats, MistralEosNeverJoinsAMarker) {
  const std::string reply = "[TO</s>OL_CALLS]f[ARGS]{\"x\": 1}</s>";
  auto r = parse_reply(ToolCallFormat::mistral, reply);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->tool_calls.empty());
  EXPECT_EQ(r->content, "[TOOL_CALLS]f[ARGS]{\"x\": 1}");
  for (std::size_t step = 1; step <= reply.size(); ++step) {
    auto s = stream(ToolCallFormat::mistral, reply, step);
    ASSERT_TRUE(s.ok()) << "step " << step << ": " << s.error().to_string();
    EXPECT_TRUE(calls_of(s->events).empty()) << "step " << step;
    EXPECT_EQ(joined_text(s->events), r->content) << "step " << step;
  }
}

TEST(ToolCallFormats, MistralMalformedCallsFail) {
  const std::string bad_json = "[TOOL_CALLS][{\"name\": \"f\", \"arguments\": {\"x\": tru}}]";
  auto r = parse_reply(ToolCallFormat::mistral, bad_json);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::parse);
  EXPECT_NE(r.error().message.find("tool call 1: invalid JSON"), std::string::npos)
      << r.error().message;
  // The stream gives the malformed call back as written, so a caller can show it as text.
  ToolCallStream s(ToolCallFormat::mistral);
  std::vector<StreamEvent> events;
  ASSERT_FALSE(s.feed(bad_json, events).ok());
  EXPECT_EQ(s.unparsed(), bad_json);

  auto no_name = parse_reply(ToolCallFormat::mistral, "[TOOL_CALLS][{\"arguments\": {}}]");
  ASSERT_FALSE(no_name.ok());
  EXPECT_NE(no_name.error().message.find("/name"), std::string::npos);
  EXPECT_FALSE(parse_reply(ToolCallFormat::mistral, "[TOOL_CALLS]").ok());
  EXPECT_FALSE(parse_reply(ToolCallFormat::mistral, "[TOOL_CALLS][{\"name\": \"f\"").ok());
  EXPECT_FALSE(parse_reply(ToolCallFormat::mistral, "[TOOL_CALLS]f[ARGS]{\"a\": 1").ok());
  EXPECT_FALSE(parse_reply(ToolCallFormat::mistral, "[TOOL_CALLS]f[ARGS]not json").ok());
  EXPECT_FALSE(parse_reply(ToolCallFormat::mistral, "[TOOL_CALLS]just some words").ok());
}

TEST(ToolCallFormats, HarmonyCallWithReasoning) {
  auto r = parse_reply(ToolCallFormat::harmony, kHarmonyCall);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->reasoning, "Need the weather in Paris.");
  EXPECT_EQ(r->content, "");
  ASSERT_EQ(r->tool_calls.size(), 1u);
  EXPECT_EQ(r->tool_calls[0].name, "get_weather");
  EXPECT_EQ(r->tool_calls[0].arguments, Json::parse(R"({"city": "Paris"})"));
  expect_same_in_every_split(ToolCallFormat::harmony, kHarmonyCall);
  // The recipient may come before the channel (the template renders it so).
  auto first = parse_reply(ToolCallFormat::harmony,
                           "<|start|>assistant to=functions.lookup<|channel|>commentary json"
                           "<|message|>{\"q\": 1}<|call|>");
  ASSERT_TRUE(first.ok()) << first.error().to_string();
  ASSERT_EQ(first->tool_calls.size(), 1u);
  EXPECT_EQ(first->tool_calls[0].name, "lookup");
}

TEST(ToolCallFormats, HarmonyFinalAnswer) {
  auto r = parse_reply(ToolCallFormat::harmony, kHarmonyFinal);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->content, "It is sunny in Paris.");
  EXPECT_EQ(r->reasoning, "Easy.");
  EXPECT_TRUE(r->tool_calls.empty());
  expect_same_in_every_split(ToolCallFormat::harmony, kHarmonyFinal);
  // Without any header the reply is plain text.
  auto plain = parse_reply(ToolCallFormat::harmony, "Just text.");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->content, "Just text.");
}

TEST(ToolCallFormats, HarmonyMalformedCallFails) {
  const std::string bad =
      "<|channel|>commentary to=functions.f <|constrain|>json<|message|>{\"x\": <|call|>";
  auto r = parse_reply(ToolCallFormat::harmony, bad);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("tool call 1: invalid JSON"), std::string::npos)
      << r.error().message;
  ToolCallStream s(ToolCallFormat::harmony);
  std::vector<StreamEvent> events;
  EXPECT_FALSE(s.feed(bad, events).ok());
  EXPECT_EQ(s.unparsed(), bad);
  EXPECT_FALSE(parse_reply(ToolCallFormat::harmony,
                           "<|channel|>commentary to=functions. <|message|>{}<|call|>")
                   .ok());
}

TEST(ToolCallFormats, NoneIsPlainText) {
  auto r = parse_reply(ToolCallFormat::none, "  <tool_call>{\"name\": \"f\"}</tool_call> ");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->content, "<tool_call>{\"name\": \"f\"}</tool_call>");
  EXPECT_TRUE(r->tool_calls.empty());
}

TEST(ToolCallFormats, DetectedFromRealTemplates) {
  const std::string dir = tokenizer::test::tokenizers_dir();
  const std::pair<const char*, ToolCallFormat> expected[] = {
      {"qwen3", ToolCallFormat::hermes},        {"llama3_1", ToolCallFormat::llama_json},
      {"llama3_2", ToolCallFormat::llama_json}, {"gemma3", ToolCallFormat::none},
      {"deepseek_v3", ToolCallFormat::none},
  };
  for (const auto& [name, format] : expected) {
    auto t = ChatTemplate::from_dir(dir + "/" + name);
    ASSERT_TRUE(t.ok()) << name << ": " << t.error().to_string();
    EXPECT_EQ(t->tool_call_format(), format) << name << ": " << to_string(t->tool_call_format());
  }
  // Mistral's and gpt-oss's templates (not in the npm packages) by their markers.
  EXPECT_EQ(detect_tool_call_format("{%- if message.tool_calls %}[TOOL_CALLS][{%- for ... %}"),
            ToolCallFormat::mistral);
  EXPECT_EQ(detect_tool_call_format("<|start|>assistant to=functions.{{ name }}<|channel|>"
                                    "commentary json<|message|>"),
            ToolCallFormat::harmony);
  EXPECT_TRUE(needs_special_tokens(ToolCallFormat::mistral));
  EXPECT_FALSE(needs_special_tokens(ToolCallFormat::hermes));
}

TEST(ToolCallFormats, ConfigWithoutTemplateNamesTheFile) {
  for (const char* name : {"llama2", "gptoss"}) {
    const std::string dir = tokenizer::test::tokenizers_dir() + "/" + name;
    auto t = ChatTemplate::from_dir(dir);
    ASSERT_FALSE(t.ok()) << name;
    EXPECT_EQ(t.error().code, ErrorCode::unsupported);
    EXPECT_EQ(t.error().message, dir + "/tokenizer_config.json: no chat_template");
  }
}

}  // namespace
}  // namespace agentrt::chat
