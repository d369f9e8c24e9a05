// llama3_tools (Meta's Llama-3.1/3.2 tool-calling template): family names and detection, the
// date default, the branches where the template raises, and json.dumps(indent=4). Byte-exact
// output is checked against transformers in chat_golden.test.cpp.
#include <gtest/gtest.h>

#include <cctype>

#include "engine/chat/chat_template.h"
#include "engine/chat/python_json.h"
#include "engine/chat/tool_call_parser.h"

namespace agentrt::chat {
namespace {

Conversation parse(const std::string& json) {
  auto conv = parse_conversation_json(json, "test.json");
  EXPECT_TRUE(conv.ok()) << conv.error().to_string();
  return conv.ok() ? *conv : Conversation{};
}

const std::string kTools =
    R"("tools": [{"type": "function", "function": {"name": "get_time", "parameters":
       {"type": "object", "properties": {}}}}])";

TEST(Llama3Tools, FamilyNames) {
  EXPECT_STREQ(to_string(Family::llama3_tools), "llama3_tools");
  ASSERT_TRUE(parse_family("llama3_tools").ok());
  EXPECT_EQ(*parse_family("llama3_tools"), Family::llama3_tools);
  EXPECT_EQ(*parse_family("llama3_1"), Family::llama3_tools);
  EXPECT_EQ(*parse_family("llama3"), Family::llama3);
  auto bad = parse_family("llama4");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("llama3_tools"), std::string::npos);
}

TEST(Llama3Tools, DetectsTheTwoLlamaTemplates) {
  const std::string plain =
      "{% for message in messages %}{% set content = '<|start_header_id|>' + message['role'] "
      "+ '<|end_header_id|>\\n\\n' %}{% endfor %}";
  const std::string tools =
      "{{- \"<|start_header_id|>system<|end_header_id|>\\n\\n\" }}"
      "{%- if tools is not none %}{{- \"Environment: ipython\\n\" }}"
      "{%- endif %}{{- \"Cutting Knowledge Date: December 2023\\n\" }}";
  EXPECT_EQ(*detect_family(plain, "plain"), Family::llama3);
  EXPECT_EQ(*detect_family(tools, "tools"), Family::llama3_tools);
  EXPECT_EQ(*detect_family("<|im_start|>{{ message.content }}", "qwen"), Family::chatml_qwen);
  EXPECT_FALSE(detect_family("{{ messages }}", "other").ok());
}

TEST(Llama3Tools, DefaultDateIsTodayLikeStrftime) {
  const std::string date = RenderOptions{}.date_string;
  // "DD Mon YYYY" with an English month, whatever the process locale.
  ASSERT_EQ(date.size(), 11u) << date;
  const std::string months = "JanFebMarAprMayJunJulAugSepOctNovDec";
  EXPECT_TRUE(std::isdigit(static_cast<unsigned char>(date[0])) &&
              std::isdigit(static_cast<unsigned char>(date[1])) && date[2] == ' ' && date[6] == ' ')
      << date;
  EXPECT_EQ(months.find(date.substr(3, 3)) % 3, 0u) << date;
  EXPECT_NE(months.find(date.substr(3, 3)), std::string::npos) << date;
  EXPECT_EQ(date.substr(7).find_first_not_of("0123456789"), std::string::npos) << date;
  EXPECT_EQ(date, today_date_string());
}

TEST(Llama3Tools, RendersSystemHeaderWithoutTools) {
  RenderOptions options;
  options.date_string = "26 Jul 2024";
  options.add_generation_prompt = true;
  auto text = render(Family::llama3_tools, parse(R"({"messages": [
      {"role": "system", "content": " Be brief. "}, {"role": "user", "content": "Hi\n"}]})"),
                     options);
  ASSERT_TRUE(text.ok()) << text.error().to_string();
  EXPECT_EQ(*text,
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
            "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n"
            "Be brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

TEST(Llama3Tools, ToolCallAndResult) {
  RenderOptions options;
  options.date_string = "x";
  options.tools_in_user_message = false;
  auto text = render(Family::llama3_tools,
                     parse(R"({"messages": [
      {"role": "user", "content": "Time?"},
      {"role": "assistant", "content": "dropped", "tool_calls": [{"type": "function",
       "function": {"name": "get_time", "arguments": {"tz": "UTC"}}}]},
      {"role": "tool", "content": "12:00 \"noon\""}], )" +
                           kTools + "}"),
                     options);
  ASSERT_TRUE(text.ok()) << text.error().to_string();
  const std::string tail =
      "<|start_header_id|>assistant<|end_header_id|>\n\n"
      "{\"name\": \"get_time\", \"parameters\": {\"tz\": \"UTC\"}}<|eot_id|>"
      "<|start_header_id|>ipython<|end_header_id|>\n\n\"12:00 \\\"noon\\\"\"<|eot_id|>";
  ASSERT_GE(text->size(), tail.size());
  EXPECT_EQ(text->substr(text->size() - tail.size()), tail);
  EXPECT_NE(text->find("Environment: ipython\n"), std::string::npos);
  EXPECT_NE(text->find("You have access to the following functions."), std::string::npos);
}

TEST(Llama3Tools, SeveralToolCallsInOneMessageFail) {
  auto text = render(Family::llama3_tools, parse(R"({"messages": [
      {"role": "user", "content": "Two?"},
      {"role": "assistant", "tool_calls": [{"function": {"name": "a", "arguments": {}}},
                                           {"function": {"name": "b", "arguments": {}}}]}]})"),
                     RenderOptions{});
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.error().code, ErrorCode::invalid_argument);
  EXPECT_NE(text.error().message.find("/messages/1"), std::string::npos) << text.error().message;
  EXPECT_NE(text.error().message.find("one tool call per assistant message, got 2"),
            std::string::npos)
      << text.error().message;
}

TEST(Llama3Tools, ToolsInUserMessageNeedAMessage) {
  const Conversation conv =
      parse(R"({"messages": [{"role": "system", "content": "Only me."}], )" + kTools + "}");
  auto text = render(Family::llama3_tools, conv, RenderOptions{});
  ASSERT_FALSE(text.ok());
  EXPECT_NE(text.error().message.find("no first user message"), std::string::npos);
  RenderOptions in_system;
  in_system.tools_in_user_message = false;
  EXPECT_TRUE(render(Family::llama3_tools, conv, in_system).ok());
}

TEST(Llama3Tools, ParsesTheModelsCalls) {
  const std::string reply =
      "<|python_tag|>{\"name\": \"get_time\", \"parameters\": {\"tz\": \"UTC\"}}";
  auto r = parse_reply(Family::llama3_tools, reply);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  ASSERT_EQ(r->tool_calls.size(), 1u);
  EXPECT_EQ(r->tool_calls[0].name, "get_time");
  EXPECT_EQ(r->tool_calls[0].arguments["tz"], "UTC");
  EXPECT_EQ(r->content, "");
  auto plain = parse_reply(Family::llama3_tools, " It is noon. ");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->content, "It is noon.");
  EXPECT_TRUE(plain->tool_calls.empty());

  ToolCallStream stream(Family::llama3_tools);
  std::vector<StreamEvent> events;
  for (char c : reply)
    ASSERT_TRUE(stream.feed(std::string_view(&c, 1), events).ok());
  ASSERT_TRUE(stream.finish(events).ok());
  ASSERT_EQ(stream.calls_completed(), 1);
  EXPECT_TRUE(stream.at_call_end());
  EXPECT_EQ(events.back().kind, StreamEvent::Kind::call_completed);
  EXPECT_EQ(events.back().call.name, "get_time");
}

TEST(PythonJson, IndentLikeJsonDumps) {
  const Json v = Json::parse(R"({"a": [1, {"b": null}], "e": {}, "l": [], "s": "é\n"})");
  EXPECT_EQ(to_python_json(v, 4),
            "{\n    \"a\": [\n        1,\n        {\n            \"b\": null\n        }\n    ],\n"
            "    \"e\": {},\n    \"l\": [],\n    \"s\": \"é\\n\"\n}");
  EXPECT_EQ(to_python_json(Json(2.5), 4), "2.5");
  EXPECT_EQ(to_python_json(Json::array({1, 2}), 0), "[\n1,\n2\n]");
}

}  // namespace
}  // namespace agentrt::chat
