#include "api/body/openai_response.h"

#include <gtest/gtest.h>

#include <set>

namespace agentrt::api::openai {
namespace {

const ReplyHead kChatHead{"chatcmpl-1", 1700000000, "tiny-calc", OpenAiEndpoint::chat};
const ReplyHead kTextHead{"cmpl-1", 1700000000, "tiny-calc", OpenAiEndpoint::completions};

bool alnum(const std::string& s) {
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c))) return false;
  return true;
}

TEST(OpenAiResponse, Usage) {
  const Json u = usage_json(10, 4, 8);
  EXPECT_EQ(u["prompt_tokens"], 10);
  EXPECT_EQ(u["completion_tokens"], 4);
  EXPECT_EQ(u["total_tokens"], 14);
  EXPECT_EQ(u["prompt_tokens_details"]["cached_tokens"], 8);
}

TEST(OpenAiResponse, ChatCompletionWithContentAndToolCalls) {
  ChoiceOut plain;
  plain.content = "Answer: 12";
  ChoiceOut calls;
  calls.index = 1;
  calls.finish_reason = "tool_calls";
  calls.tool_calls = {{"call_a", "calculator", R"({"expression": "3*4"})"}};
  calls.reasoning = "think";
  const std::vector<ChoiceOut> choices{plain, calls};
  const Json j = completion_json(kChatHead, choices, usage_json(5, 3, 0));
  EXPECT_EQ(j["id"], "chatcmpl-1");
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["created"], 1700000000);
  EXPECT_EQ(j["model"], "tiny-calc");
  EXPECT_EQ(j["usage"]["total_tokens"], 8);
  ASSERT_EQ(j["choices"].size(), 2u);
  const Json& a = j["choices"][0];
  EXPECT_EQ(a["index"], 0);
  EXPECT_EQ(a["finish_reason"], "stop");
  EXPECT_EQ(a["message"]["role"], "assistant");
  EXPECT_EQ(a["message"]["content"], "Answer: 12");
  EXPECT_TRUE(a["message"]["refusal"].is_null());
  EXPECT_FALSE(a["message"].contains("tool_calls"));
  EXPECT_TRUE(a["logprobs"].is_null());
  const Json& b = j["choices"][1];
  EXPECT_EQ(b["index"], 1);
  EXPECT_EQ(b["finish_reason"], "tool_calls");
  EXPECT_TRUE(b["message"]["content"].is_null());
  EXPECT_EQ(b["message"]["reasoning_content"], "think");
  const Json& call = b["message"]["tool_calls"][0];
  EXPECT_EQ(call["id"], "call_a");
  EXPECT_EQ(call["type"], "function");
  EXPECT_EQ(call["function"]["name"], "calculator");
  EXPECT_EQ(call["function"]["arguments"], R"({"expression": "3*4"})");
}

TEST(OpenAiResponse, ChatLogprobs) {
  const std::vector<TokenLogprob> lps{{"Hi", -0.5f, {{"Hi", -0.5f}, {"\xC3", -2.0f}}}};
  ChoiceOut c;
  c.content = "Hi";
  c.logprobs = lps;
  const std::vector<ChoiceOut> choices{c};
  const Json j = completion_json(kChatHead, choices, usage_json(1, 1, 0));
  const Json& t = j["choices"][0]["logprobs"]["content"][0];
  EXPECT_EQ(t["token"], "Hi");
  EXPECT_FLOAT_EQ(t["logprob"].get<float>(), -0.5f);
  EXPECT_EQ(t["bytes"], Json::array({72, 105}));
  ASSERT_EQ(t["top_logprobs"].size(), 2u);
  EXPECT_EQ(t["top_logprobs"][1]["token"], "\xEF\xBF\xBD");       // half a character
  EXPECT_EQ(t["top_logprobs"][1]["bytes"], Json::array({0xC3}));  // the raw byte, unsigned
  EXPECT_NO_THROW((void)j.dump());
}

TEST(OpenAiResponse, TextCompletionAndLogprobOffsets) {
  ChoiceOut c;
  c.content = "2\n";
  c.finish_reason = "length";
  c.logprobs =
      std::vector<TokenLogprob>{{"2", -0.1f, {{"2", -0.1f}, {"3", -3.0f}}}, {"\n", -0.2f, {}}};
  const std::vector<ChoiceOut> choices{c};
  const Json j = completion_json(kTextHead, choices, usage_json(4, 2, 0));
  EXPECT_EQ(j["object"], "text_completion");
  const Json& ch = j["choices"][0];
  EXPECT_EQ(ch["text"], "2\n");
  EXPECT_EQ(ch["finish_reason"], "length");
  EXPECT_EQ(ch["logprobs"]["tokens"], Json::array({"2", "\n"}));
  EXPECT_EQ(ch["logprobs"]["text_offset"], Json::array({0, 1}));
  EXPECT_FLOAT_EQ(ch["logprobs"]["top_logprobs"][0]["3"].get<float>(), -3.0f);
  EXPECT_TRUE(ch["logprobs"]["top_logprobs"][1].empty());
  // Streaming: offsets continue after the text already sent.
  const std::vector<TokenLogprob> more{{"ab", -1.0f, {}}, {"c", -1.0f, {}}};
  EXPECT_EQ(text_logprobs_json(more, 7)["text_offset"], Json::array({7, 9}));
}

TEST(OpenAiResponse, ChatStreamChunks) {
  const Json role = chat_role_chunk(kChatHead, 2);
  EXPECT_EQ(role["object"], "chat.completion.chunk");
  EXPECT_EQ(role["id"], "chatcmpl-1");
  EXPECT_EQ(role["choices"][0]["index"], 2);
  EXPECT_EQ(role["choices"][0]["delta"]["role"], "assistant");
  EXPECT_TRUE(role["choices"][0]["finish_reason"].is_null());
  const Json content = chat_content_chunk(kChatHead, 2, "Ans");
  EXPECT_EQ(content["choices"][0]["delta"], Json({{"content", "Ans"}}));
  EXPECT_TRUE(content["choices"][0]["logprobs"].is_null());
  const std::vector<TokenLogprob> lp{{"Ans", -0.3f, {}}};
  const Json with_lp = chat_content_chunk(kChatHead, 0, "Ans", chat_logprobs_json(lp));
  EXPECT_EQ(with_lp["choices"][0]["logprobs"]["content"][0]["token"], "Ans");
  EXPECT_EQ(chat_reasoning_chunk(kChatHead, 0, "hm")["choices"][0]["delta"]["reasoning_content"],
            "hm");
  const Json fin = chat_finish_chunk(kChatHead, 2, "stop");
  EXPECT_EQ(fin["choices"][0]["finish_reason"], "stop");
  EXPECT_TRUE(fin["choices"][0]["delta"].is_object());
  EXPECT_TRUE(fin["choices"][0]["delta"].empty());
  const Json usage = usage_chunk(kChatHead, usage_json(3, 2, 1));
  EXPECT_EQ(usage["object"], "chat.completion.chunk");
  EXPECT_TRUE(usage["choices"].is_array());
  EXPECT_TRUE(usage["choices"].empty());
  EXPECT_EQ(usage["usage"]["prompt_tokens_details"]["cached_tokens"], 1);
}

TEST(OpenAiResponse, ToolCallChunksStreamArgumentsInPieces) {
  const std::string args = R"({"expression": "1234567890 * 1234567890 + 1234567890 - é"})";
  const auto chunks = chat_tool_call_chunks(kChatHead, 1, 3, {"call_x", "calculator", args});
  ASSERT_GE(chunks.size(), 3u);
  const Json& first = chunks[0]["choices"][0];
  EXPECT_EQ(first["index"], 1);
  const Json& head = first["delta"]["tool_calls"][0];
  EXPECT_EQ(head["index"], 3);
  EXPECT_EQ(head["id"], "call_x");
  EXPECT_EQ(head["type"], "function");
  EXPECT_EQ(head["function"]["name"], "calculator");
  EXPECT_EQ(head["function"]["arguments"], "");
  std::string joined;
  for (std::size_t i = 1; i < chunks.size(); ++i) {
    const Json& d = chunks[i]["choices"][0]["delta"]["tool_calls"][0];
    EXPECT_EQ(d["index"], 3);
    EXPECT_FALSE(d.contains("id"));
    EXPECT_FALSE(d["function"].contains("name"));
    const std::string piece = d["function"]["arguments"];
    EXPECT_LE(piece.size(), kArgumentPieceBytes + 3);
    joined += piece;
  }
  EXPECT_EQ(joined, args);
  // No arguments: the head chunk only.
  EXPECT_EQ(chat_tool_call_chunks(kChatHead, 0, 0, {"call_y", "f", ""}).size(), 1u);
}

TEST(OpenAiResponse, TextChunks) {
  const Json mid = text_chunk(kTextHead, 1, "4");
  EXPECT_EQ(mid["object"], "text_completion");
  EXPECT_EQ(mid["choices"][0]["index"], 1);
  EXPECT_EQ(mid["choices"][0]["text"], "4");
  EXPECT_TRUE(mid["choices"][0]["finish_reason"].is_null());
  EXPECT_TRUE(mid["choices"][0]["logprobs"].is_null());
  const Json last = text_chunk(kTextHead, 1, "", nullptr, "length");
  EXPECT_EQ(last["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(usage_chunk(kTextHead, usage_json(1, 1, 0))["object"], "text_completion");
}

TEST(OpenAiResponse, ModelList) {
  const std::vector<std::string> names{"tiny-calc", "/models/tiny-calc"};
  const Json j = model_list_json(names, 42);
  EXPECT_EQ(j["object"], "list");
  ASSERT_EQ(j["data"].size(), 2u);
  EXPECT_EQ(j["data"][0]["id"], "tiny-calc");
  EXPECT_EQ(j["data"][0]["object"], "model");
  EXPECT_EQ(j["data"][0]["created"], 42);
  EXPECT_EQ(j["data"][0]["owned_by"], "agentrt");
  EXPECT_EQ(j["data"][1]["id"], "/models/tiny-calc");
}

TEST(OpenAiResponse, Ids) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const std::string id = tool_call_id();
    ASSERT_EQ(id.size(), 5u + 24u);
    EXPECT_EQ(id.substr(0, 5), "call_");
    EXPECT_TRUE(alnum(id.substr(5))) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 100u);
  EXPECT_EQ(completion_id(OpenAiEndpoint::chat).rfind("chatcmpl-", 0), 0u);
  EXPECT_EQ(completion_id(OpenAiEndpoint::completions).rfind("cmpl-", 0), 0u);
  EXPECT_EQ(completion_id(OpenAiEndpoint::chat).size(), 9u + 24u);
}

TEST(OpenAiResponse, SseFraming) {
  EXPECT_EQ(sse_data(Json{{"a", 1}}), "data: {\"a\":1}\n\n");
  EXPECT_EQ(kSseDone, "data: [DONE]\n\n");
  // A raw invalid string in a Json built elsewhere still frames (replaced).
  EXPECT_NO_THROW((void)sse_data(Json{{"a", "\xff"}}));
}

TEST(OpenAiResponse, Utf8Helpers) {
  EXPECT_EQ(valid_utf8("abc"), "abc");
  EXPECT_EQ(valid_utf8("\xC3\xA9"), "\xC3\xA9");
  EXPECT_EQ(valid_utf8("\xF0\x9F\x98\x80"), "\xF0\x9F\x98\x80");
  EXPECT_EQ(valid_utf8("a\xC3"), "a\xEF\xBF\xBD");
  EXPECT_EQ(valid_utf8("\x80x"), "\xEF\xBF\xBDx");
  EXPECT_EQ(valid_utf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");                  // overlong '/'
  EXPECT_EQ(valid_utf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  EXPECT_EQ(valid_utf8("\xF4\x90\x80\x80").substr(0, 3), "\xEF\xBF\xBD");         // past U+10FFFF
  const auto pieces = utf8_pieces(
      "ab\xC3\xA9"
      "cd",
      3);
  ASSERT_EQ(pieces.size(), 2u);
  EXPECT_EQ(pieces[0], "ab\xC3\xA9");
  EXPECT_EQ(pieces[1], "cd");
  EXPECT_TRUE(utf8_pieces("", 4).empty());
}

}  // namespace
}  // namespace agentrt::api::openai
