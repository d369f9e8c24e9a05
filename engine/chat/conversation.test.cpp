// Conversation parsing, Python-style JSON, family detection and rendering details.
#include "engine/chat/conversation.h"

#include <gtest/gtest.h>

#include "engine/chat/chat_template.h"
#include "engine/chat/python_json.h"
#include "engine/chat/python_str.h"
#include "engine/common/json_depth.h"

namespace agentrt::chat {
namespace {

TEST(Conversation, ParsesOpenAiShape) {
  auto conv = parse_conversation_json(R"({
    "messages": [
      {"role": "system", "content": "Be brief."},
      {"role": "user", "content": [{"type": "text", "text": "Hi "}, {"type": "text", "text": "there"}]},
      {"role": "assistant", "content": null, "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "f", "arguments": {"z": 1, "a": 2}}}]},
      {"role": "tool", "tool_call_id": "c1", "name": "f", "content": "3"}],
    "tools": [{"type": "function", "function": {"name": "f", "description": "d",
               "parameters": {"type": "object"}}}]})",
                                      "req.json");
  ASSERT_TRUE(conv.ok()) << conv.error().to_string();
  ASSERT_EQ(conv->messages.size(), 4u);
  EXPECT_EQ(conv->messages[1].content, "Hi there");
  EXPECT_EQ(conv->messages[2].content, "");
  EXPECT_EQ(to_python_json(conv->messages[2].tool_calls[0].arguments), R"({"z": 1, "a": 2})");
  EXPECT_EQ(conv->messages[3].tool_call_id, "c1");
  EXPECT_EQ(conv->tools[0].name, "f");
  EXPECT_EQ(conv->tools[0].description, "d");
}

TEST(Conversation, ErrorsNameSourceAndPointer) {
  auto bad_role = parse_conversation_json(R"({"messages": [{"role": "user", "content": "a"},
                                              {"role": "bot", "content": "b"}]})",
                                          "req.json");
  ASSERT_FALSE(bad_role.ok());
  EXPECT_EQ(bad_role.error().message, "req.json: /messages/1/role: unknown role 'bot'");
  auto bad_call = parse_conversation_json(
      R"({"messages": [{"role": "assistant", "tool_calls": [{"function": {"arguments": {}}}]}]})",
      "req.json");
  ASSERT_FALSE(bad_call.ok());
  EXPECT_EQ(bad_call.error().message,
            "req.json: /messages/0/tool_calls/0/function/name: expected a string");
  auto bad_tool = parse_conversation_json(R"({"messages": [], "tools": [{"function": {"name": "f",
                                             "parameters": 3}}]})",
                                          "req.json");
  ASSERT_FALSE(bad_tool.ok());
  EXPECT_EQ(bad_tool.error().message,
            "req.json: /tools/0/function/parameters: expected a JSON schema object");
  auto bad_json = parse_conversation_json("{\"messages\": [", "req.json");
  ASSERT_FALSE(bad_json.ok());
  EXPECT_EQ(bad_json.error().code, ErrorCode::parse);
}

// depth arrays nested in each other, built without recursion (moves, not copies).
Json deep_array(int depth) {
  Json v = Json::array();
  for (int i = 1; i < depth; ++i) {
    Json outer = Json::array();
    outer.push_back(std::move(v));
    v = std::move(outer);
  }
  return v;
}

TEST(Conversation, RefusesDeepToolParametersAndArgumentsAtTheirPlace) {
  const int depth = 100000;
  const std::string deep = std::string(depth, '[') + std::string(depth, ']');
  auto params = parse_conversation_json(
      R"({"messages": [], "tools": [{"function": {"name": "f", "parameters": {"a": )" + deep +
          "}}}]}",
      "req.json");
  ASSERT_FALSE(params.ok());
  EXPECT_EQ(params.error().message.rfind("req.json: JSON nested deeper than 128 levels at "
                                         "/tools/0/function/parameters/a/0/0/0",
                                         0),
            0u)
      << params.error().message;
  EXPECT_LT(params.error().message.size(), 400u);
  auto args = parse_conversation_json(
      R"({"messages": [{"role": "assistant", "tool_calls": [{"function": {"name": "f",
          "arguments": {"x": )" +
          deep + "}}}]}]}",
      "req.json");
  ASSERT_FALSE(args.ok());
  EXPECT_NE(args.error().message.find("/messages/0/tool_calls/0/function/arguments/x/0"),
            std::string::npos)
      << args.error().message;
  // At the limit it parses and renders.
  const std::string ok_depth =
      std::string(kMaxJsonDepth - 5, '[') + std::string(kMaxJsonDepth - 5, ']');
  auto fine = parse_conversation_json(
      R"({"messages": [{"role": "user", "content": "hi"}], "tools": [{"function": {"name": "f",
          "parameters": {"a": )" +
          ok_depth + "}}}]}",
      "req.json");
  ASSERT_TRUE(fine.ok()) << fine.error().message;
  EXPECT_TRUE(render(Family::chatml_qwen, *fine, {}).ok());
}

TEST(Conversation, RefusesDeepValuesBuiltByTheCaller) {
  Json messages = Json::array();
  Json call = {{"function", {{"name", "f"}, {"arguments", Json::object()}}}};
  call["function"]["arguments"]["x"] = deep_array(100000);
  Json msg = {{"role", "assistant"}};
  msg["tool_calls"] = Json::array();
  msg["tool_calls"].push_back(std::move(call));
  messages.push_back(std::move(msg));
  auto conv = parse_conversation(messages, Json(), "api");
  ASSERT_FALSE(conv.ok());
  EXPECT_EQ(
      conv.error().message.rfind("api: /messages/0/tool_calls/0/function/arguments/x/0/0/0", 0), 0u)
      << conv.error().message;
  EXPECT_NE(conv.error().message.find("nested deeper than 128 levels"), std::string::npos);
}

TEST(PythonJson, WritesAnyDepthWithoutRecursion) {
  const int depth = 200000;
  const Json v = deep_array(depth);
  EXPECT_EQ(to_python_json(v), std::string(depth - 1, '[') + "[]" + std::string(depth - 1, ']'));
  // indent 0: a newline between levels, no spaces (so the text stays linear in depth).
  const std::string indented = to_python_json(v, 0);
  EXPECT_EQ(indented.size(), 4u * depth - 2);
  EXPECT_EQ(indented.substr(0, 4), "[\n[\n");
}

TEST(PythonJson, MatchesJsonDumps) {
  const Json v =
      Json::parse(R"({"s": "é\n\"\u0001/", "n": [1, -2, 2.5, 1e20, true, null], "o": {}})");
  EXPECT_EQ(to_python_json(v),
            "{\"s\": \"é\\n\\\"\\u0001/\", \"n\": [1, -2, 2.5, 1e+20, true, null], \"o\": {}}");
}

TEST(PythonStr, StripLikePython) {
  EXPECT_EQ(py::strip_whitespace("\u3000\t x y \n\u00a0"), "x y");
  EXPECT_EQ(py::strip_whitespace(" \n "), "");
  EXPECT_EQ(py::strip("\n\nab\n", "\n"), "ab");
  EXPECT_EQ(py::lstrip("\n\n", "\n"), "");
}

TEST(ChatTemplate, FamilyDetectionAndErrors) {
  EXPECT_EQ(detect_family("{{ '<|im_start|>' }}", "x").value(), Family::chatml_qwen);
  EXPECT_EQ(detect_family("<|start_header_id|>", "x").value(), Family::llama3);
  auto unknown = detect_family("[INST]", "models/mistral");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("models/mistral"), std::string::npos);
  auto missing = detect_family_in_dir("/nonexistent/model");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("/nonexistent/model/tokenizer_config.json"),
            std::string::npos);
  EXPECT_EQ(parse_family("llama3").value(), Family::llama3);
  EXPECT_FALSE(parse_family("vicuna").ok());
  EXPECT_FALSE(render(Family::llama3, Conversation{}, {}).ok());
}

TEST(ChatTemplate, QwenThinkingAndToolResponses) {
  Conversation conv;
  conv.messages.push_back({Role::user, "q", {}, {}, {}, {}});
  RenderOptions opt;
  opt.add_generation_prompt = true;
  opt.enable_thinking = false;
  EXPECT_EQ(render(Family::chatml_qwen, conv, opt).value(),
            "<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
  conv.messages.push_back(
      {Role::assistant, "", {}, {{"c", "f", Json::object({{"a", 1}})}}, {}, {}});
  conv.messages.push_back({Role::tool, "r1", {}, {}, "c", "f"});
  conv.messages.push_back({Role::tool, "r2", {}, {}, "c", "f"});
  EXPECT_EQ(render(Family::chatml_qwen, conv, {}).value(),
            "<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n<tool_call>\n{\"name\": \"f\", "
            "\"arguments\": {\"a\": 1}}\n</tool_call><|im_end|>\n"
            "<|im_start|>user\n<tool_response>\nr1\n</tool_response>\n<tool_response>\nr2\n"
            "</tool_response><|im_end|>\n");
}

}  // namespace
}  // namespace agentrt::chat
