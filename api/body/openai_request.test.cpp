#include "api/body/openai_request.h"

#include <gtest/gtest.h>

#include "api/body/api_limits.h"
#include "engine/common/json_depth.h"

namespace agentrt::api {
namespace {

constexpr auto kChat = OpenAiEndpoint::chat;
constexpr auto kCompletions = OpenAiEndpoint::completions;

std::string chat_body(const std::string& extra) {
  std::string b = R"({"model": "tiny-calc", "messages": [{"role": "user", "content": "hi"}]})";
  if (!extra.empty()) b.insert(b.size() - 1, ", " + extra);
  return b;
}

std::string completion_body(const std::string& extra) {
  std::string b = R"({"model": "tiny-calc", "prompt": "1+1="})";
  if (!extra.empty()) b.insert(b.size() - 1, ", " + extra);
  return b;
}

// The body is refused with status 400, `code` and `pointer`.
void expect_refused(const std::string& body, OpenAiEndpoint ep, const std::string& code,
                    const std::string& pointer) {
  auto r = parse_openai_request(body, ep);
  ASSERT_FALSE(r.ok()) << body;
  EXPECT_EQ(r.error().status, 400) << body;
  EXPECT_EQ(r.error().code, code) << body << " -> " << r.error().message;
  EXPECT_EQ(r.error().pointer, pointer) << body << " -> " << r.error().message;
  EXPECT_FALSE(r.error().message.empty());
}

const std::string kCalculator = R"({"type": "function", "function": {"name": "calculator",
  "description": "Evaluate an arithmetic expression", "strict": true, "parameters": {"type":
  "object", "properties": {"expression": {"type": "string"}}, "required": ["expression"]}}})";

TEST(OpenAiRequest, MinimalChatHasTheDefaults) {
  auto r = parse_openai_request(chat_body(""), kChat);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->endpoint, kChat);
  EXPECT_EQ(r->model, "tiny-calc");
  ASSERT_EQ(r->conversation.messages.size(), 1u);
  EXPECT_EQ(r->conversation.messages[0].role, chat::Role::user);
  EXPECT_EQ(r->conversation.messages[0].content, "hi");
  EXPECT_FLOAT_EQ(r->params.temperature, 1.0f);
  EXPECT_FLOAT_EQ(r->params.top_p, 1.0f);
  EXPECT_EQ(r->params.max_tokens, kOpenAiDefaultMaxTokens);
  EXPECT_FALSE(r->max_tokens_given);
  EXPECT_EQ(r->params.logprobs, -1);
  EXPECT_FALSE(r->params.seed.has_value());
  EXPECT_TRUE(r->params.stop_strings.empty());
  EXPECT_EQ(r->n, 1);
  EXPECT_FALSE(r->stream);
  EXPECT_FALSE(r->include_usage);
  EXPECT_EQ(r->tool_choice.kind, ToolChoice::Kind::none);
  EXPECT_TRUE(r->parallel_tool_calls);
  EXPECT_FALSE(r->want_logprobs);
  EXPECT_FALSE(r->session.has_value());
  EXPECT_FALSE(r->retain_s.has_value());
  EXPECT_FALSE(r->enable_thinking.has_value());
  EXPECT_TRUE(r->params.validate().ok());
}

TEST(OpenAiRequest, EverySupportedChatField) {
  auto r = parse_openai_request(chat_body(R"("temperature": 0.5, "top_p": 0.9,
    "max_completion_tokens": 64, "stop": ["\n\n", "END"], "seed": 42, "frequency_penalty": 0.5,
    "presence_penalty": -1, "logprobs": true, "top_logprobs": 3, "n": 3, "stream": true,
    "stream_options": {"include_usage": true}, "user": "u1", "parallel_tool_calls": false,
    "tools": [)" + kCalculator + R"(], "tool_choice": {"type": "function", "function":
    {"name": "calculator"}}, "agentrt": {"session": "s-1", "retain_s": 12.5},
    "chat_template_kwargs": {"enable_thinking": false}, "top_k": 40, "min_p": 0.05,
    "repetition_penalty": 1.1, "ignore_eos": true, "stop_token_ids": [7, 8])"),
                                kChat);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FLOAT_EQ(r->params.temperature, 0.5f);
  EXPECT_FLOAT_EQ(r->params.top_p, 0.9f);
  EXPECT_EQ(r->params.max_tokens, 64);
  EXPECT_TRUE(r->max_tokens_given);
  EXPECT_EQ(r->params.stop_strings, (std::vector<std::string>{"\n\n", "END"}));
  EXPECT_EQ(r->params.seed, 42u);
  EXPECT_FLOAT_EQ(r->params.frequency_penalty, 0.5f);
  EXPECT_FLOAT_EQ(r->params.presence_penalty, -1.0f);
  EXPECT_TRUE(r->want_logprobs);
  EXPECT_EQ(r->top_logprobs, 3);
  EXPECT_EQ(r->params.logprobs, 3);
  EXPECT_EQ(r->n, 3);
  EXPECT_TRUE(r->stream);
  EXPECT_TRUE(r->include_usage);
  EXPECT_EQ(r->user, "u1");
  EXPECT_FALSE(r->parallel_tool_calls);
  ASSERT_EQ(r->conversation.tools.size(), 1u);
  EXPECT_EQ(r->conversation.tools[0].name, "calculator");
  EXPECT_EQ(r->tool_choice.kind, ToolChoice::Kind::named);
  EXPECT_EQ(r->tool_choice.name, "calculator");
  EXPECT_EQ(r->session, "s-1");
  EXPECT_DOUBLE_EQ(*r->retain_s, 12.5);
  EXPECT_EQ(r->enable_thinking, false);
  EXPECT_EQ(r->params.top_k, 40);
  EXPECT_FLOAT_EQ(r->params.min_p, 0.05f);
  EXPECT_FLOAT_EQ(r->params.repetition_penalty, 1.1f);
  EXPECT_TRUE(r->params.ignore_eos);
  EXPECT_EQ(r->params.stop_token_ids, (std::vector<std::int32_t>{7, 8}));
}

TEST(OpenAiRequest, NeutralValuesAreAccepted) {
  const char* bodies[] = {
      R"("logit_bias": {})",
      R"("logit_bias": null)",
      R"("store": false)",
      R"("metadata": {"trace": "abc"})",
      R"("stream_options": {"include_usage": false, "include_obfuscation": false})",
      R"("stream_options": null)",
      R"("response_format": {"type": "text"})",
      R"("modalities": ["text"])",
      R"("service_tier": "auto")",
      R"("service_tier": "default")",
      R"("audio": null, "prediction": null, "reasoning_effort": null, "verbosity": null)",
      R"("web_search_options": null, "functions": null, "function_call": null)",
      R"("safety_identifier": "x", "prompt_cache_key": "conv-1")",
      R"("n": 1, "temperature": null, "top_p": null, "max_tokens": null, "seed": null)",
      R"("stop": null, "tools": null, "tool_choice": null, "parallel_tool_calls": true)",
      R"("tools": [], "tool_choice": "auto")",
      R"("tool_choice": "none")",
      R"("agentrt": {}, "chat_template_kwargs": {"enable_thinking": null})",
      R"("top_k": -1, "top_logprobs": 0, "logprobs": false)",
      R"("n": 2.0, "max_tokens": 16.0)",  // integral floats, as Python clients may send
  };
  for (const char* extra : bodies) {
    auto r = parse_openai_request(chat_body(extra), kChat);
    EXPECT_TRUE(r.ok()) << extra << " -> " << r.error().message;
  }
}

// What the three clients the tests run send (tests/clients/): the openai npm package
// (a user's body as written), LangChain's ChatOpenAI and the Vercel AI SDK's
// openai-compatible provider.
TEST(OpenAiRequest, RealClientBodies) {
  const std::string langchain = R"({"model": "tiny-calc", "temperature": 0, "stream": true,
    "stream_options": {"include_usage": true}, "n": 1, "messages": [
      {"role": "system", "content": "You are a calculator."},
      {"role": "user", "content": "3 boxes of 4 beads?"},
      {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "id": "call_1",
        "function": {"name": "calculator", "arguments": "{\"expression\": \"3*4\"}"}}]},
      {"role": "tool", "content": "12", "tool_call_id": "call_1"}],
    "tools": [)" + kCalculator + R"(], "parallel_tool_calls": false})";
  auto a = parse_openai_request(langchain, kChat);
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->conversation.messages.size(), 4u);
  EXPECT_EQ(a->conversation.messages[2].tool_calls.at(0).name, "calculator");
  EXPECT_EQ(a->conversation.messages[3].tool_call_id, "call_1");
  EXPECT_EQ(a->tool_choice.kind, ToolChoice::Kind::auto_);
  EXPECT_TRUE(a->include_usage);
  // The openai package's users echo the assistant message back as it came.
  const std::string echoed = R"({"model": "tiny-calc", "messages": [
      {"role": "user", "content": [{"type": "text", "text": "hi"}]},
      {"role": "assistant", "content": null, "refusal": null, "tool_calls": [{"id": "call_x",
        "type": "function", "function": {"name": "calculator", "arguments": "{}"}}]},
      {"role": "tool", "tool_call_id": "call_x", "content": "2"}],
    "tools": [)" + kCalculator +
                             R"(], "tool_choice": "required"})";
  auto b = parse_openai_request(echoed, kChat);
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(b->tool_choice.kind, ToolChoice::Kind::required);
  const std::string vercel = R"({"model": "tiny-calc", "max_tokens": 100,
    "temperature": 0, "messages": [{"role": "developer", "content": "be brief"},
    {"role": "user", "content": "2+2"}], "tools": [)" +
                             kCalculator + R"(],
    "tool_choice": "auto", "stream": false, "seed": 1})";
  auto c = parse_openai_request(vercel, kChat);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->conversation.messages[0].role, chat::Role::system);
  EXPECT_EQ(c->params.max_tokens, 100);
}

TEST(OpenAiRequest, MaxCompletionTokensAliasesMaxTokens) {
  auto same =
      parse_openai_request(chat_body(R"("max_tokens": 9, "max_completion_tokens": 9)"), kChat);
  ASSERT_TRUE(same.ok()) << same.error().message;
  EXPECT_EQ(same->params.max_tokens, 9);
  auto only = parse_openai_request(chat_body(R"("max_completion_tokens": 5)"), kChat);
  ASSERT_TRUE(only.ok());
  EXPECT_EQ(only->params.max_tokens, 5);
  expect_refused(chat_body(R"("max_tokens": 9, "max_completion_tokens": 10)"), kChat,
                 "invalid_value", "/max_completion_tokens");
}

TEST(OpenAiRequest, TopPZeroIsGreedy) {
  auto r = parse_openai_request(chat_body(R"("top_p": 0, "temperature": 0.7)"), kChat);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->params.greedy());
  EXPECT_FLOAT_EQ(r->params.top_p, 1.0f);
}

TEST(OpenAiRequest, NegativeAndHugeSeeds) {
  auto neg = parse_openai_request(chat_body(R"("seed": -1)"), kChat);
  ASSERT_TRUE(neg.ok());
  EXPECT_EQ(*neg->params.seed, ~std::uint64_t{0});
  auto big = parse_openai_request(chat_body(R"("seed": 18446744073709551615)"), kChat);
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(*big->params.seed, ~std::uint64_t{0});
  expect_refused(chat_body(R"("seed": 1.5)"), kChat, "invalid_type", "/seed");
  expect_refused(chat_body(R"("seed": "1")"), kChat, "invalid_type", "/seed");
}

// response_format json_object and json_schema compile to a grammar (engine/grammar) that
// the reply is decoded in; a schema without its name or body is refused at its place.
TEST(OpenAiRequest, ResponseFormatCompilesItsSchema) {
  auto text = parse_openai_request(chat_body(R"("response_format": {"type": "text"})"), kChat);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text->response_grammar, nullptr);
  auto obj =
      parse_openai_request(chat_body(R"("response_format": {"type": "json_object"})"), kChat);
  ASSERT_TRUE(obj.ok());
  EXPECT_NE(obj->response_grammar, nullptr);
  auto sch = parse_openai_request(
      chat_body(R"("response_format": {"type": "json_schema", "json_schema": {"name": "r",
          "schema": {"type": "object", "properties": {"a": {"type": "integer"}}}}})"),
      kChat);
  ASSERT_TRUE(sch.ok());
  EXPECT_NE(sch->response_grammar, nullptr);
  expect_refused(chat_body(R"("response_format": {"type": "json_schema", "json_schema": {}})"),
                 kChat, "missing_required_parameter", "/response_format/json_schema/name");
  expect_refused(chat_body(R"("response_format": {"type": "json_schema",
                     "json_schema": {"name": "r"}})"),
                 kChat, "missing_required_parameter", "/response_format/json_schema/schema");
  expect_refused(chat_body(R"("response_format": {"type": "json_schema",
                     "json_schema": {"name": "r", "schema": {"type": "object",
                     "properties": {"a": {"minimum": 3}}}}})"),
                 kChat, "unsupported_parameter",
                 "/response_format/json_schema/schema/properties/a/minimum");
}

TEST(OpenAiRequest, RefusedFieldsAreNamed) {
  struct Case {
    const char* extra;
    const char* pointer;
  };
  const Case cases[] = {
      {R"("logit_bias": {"50256": -100})", "/logit_bias"},
      {R"("response_format": {"type": "grammar"})", "/response_format/type"},
      {R"("response_format": {"type": "json_schema", "json_schema": {"name": "r",
          "schema": {"type": "string", "pattern": "^a"}}})",
       "/response_format/json_schema/schema/pattern"},
      {R"("audio": {"voice": "alloy", "format": "wav"})", "/audio"},
      {R"("modalities": ["text", "audio"])", "/modalities/1"},
      {R"("functions": [{"name": "f"}])", "/functions"},
      {R"("function_call": "auto")", "/function_call"},
      {R"("prediction": {"type": "content", "content": "x"})", "/prediction"},
      {R"("reasoning_effort": "low")", "/reasoning_effort"},
      {R"("verbosity": "low")", "/verbosity"},
      {R"("web_search_options": {})", "/web_search_options"},
      {R"("service_tier": "flex")", "/service_tier"},
      {R"("store": true)", "/store"},
      {R"("stream_options": {"include_obfuscation": true})", "/stream_options/include_obfuscation"},
      {R"("chat_template_kwargs": {"tools_in_user_message": true})",
       "/chat_template_kwargs/tools_in_user_message"},
      {R"("tools": [{"type": "custom", "custom": {"name": "x"}}])", "/tools/0/type"},
      {R"("tool_choice": {"type": "allowed_tools", "allowed_tools": {}})", "/tool_choice/type"},
  };
  for (const Case& c : cases)
    expect_refused(chat_body(c.extra), kChat, "unsupported_parameter", c.pointer);
  expect_refused(completion_body(R"("echo": true)"), kCompletions, "unsupported_parameter",
                 "/echo");
  expect_refused(completion_body(R"("suffix": "}")"), kCompletions, "unsupported_parameter",
                 "/suffix");
  expect_refused(completion_body(R"("best_of": 3)"), kCompletions, "unsupported_parameter",
                 "/best_of");
  expect_refused(completion_body(R"("logit_bias": {"1": 5})"), kCompletions,
                 "unsupported_parameter", "/logit_bias");
}

TEST(OpenAiRequest, UnknownFieldsAreNamed) {
  expect_refused(chat_body(R"("temprature": 0)"), kChat, "unknown_parameter", "/temprature");
  expect_refused(chat_body(R"("a/b": 0)"), kChat, "unknown_parameter", "/a~1b");
  // A field of the other endpoint.
  expect_refused(chat_body(R"("prompt": "x")"), kChat, "unknown_parameter", "/prompt");
  expect_refused(chat_body(R"("echo": false)"), kChat, "unknown_parameter", "/echo");
  expect_refused(completion_body(R"("messages": [])"), kCompletions, "unknown_parameter",
                 "/messages");
  expect_refused(completion_body(R"("tools": [])"), kCompletions, "unknown_parameter", "/tools");
  expect_refused(chat_body(R"("stream_options": {"continuous_usage_stats": true})"), kChat,
                 "unknown_parameter", "/stream_options/continuous_usage_stats");
  expect_refused(chat_body(R"("agentrt": {"ttl": 3})"), kChat, "unknown_parameter", "/agentrt/ttl");
}

TEST(OpenAiRequest, AgentrtKvReuse) {
  auto r = parse_openai_request(
      chat_body(
          R"("agentrt": {"kv_reuse": "blend", "blend_recompute": 0.15, "blend_anchors": true})"),
      kChat);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->kv_reuse, KvReuse::blend);
  EXPECT_FLOAT_EQ(*r->blend_recompute, 0.15f);
  EXPECT_EQ(r->blend_anchors, true);
  auto c =
      parse_openai_request(completion_body(R"("agentrt": {"kv_reuse": "exact"})"), kCompletions);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->kv_reuse, KvReuse::exact);
  EXPECT_FALSE(c->blend_recompute.has_value());
  EXPECT_FALSE(c->blend_anchors.has_value());
  expect_refused(chat_body(R"("agentrt": {"kv_reuse": 1})"), kChat, "invalid_type",
                 "/agentrt/kv_reuse");
  expect_refused(chat_body(R"("agentrt": {"kv_reuse": "blend", "blend_anchors": "yes"})"), kChat,
                 "invalid_type", "/agentrt/blend_anchors");
}

TEST(OpenAiRequest, BadTypes) {
  struct Case {
    const char* extra;
    const char* pointer;
  };
  const Case cases[] = {
      {R"("temperature": "0.5")", "/temperature"},
      {R"("top_p": true)", "/top_p"},
      {R"("max_tokens": 1.5)", "/max_tokens"},
      {R"("max_completion_tokens": "9")", "/max_completion_tokens"},
      {R"("stop": 3)", "/stop"},
      {R"("stop": ["a", 3])", "/stop/1"},
      {R"("n": "2")", "/n"},
      {R"("stream": "yes")", "/stream"},
      {R"("stream_options": true)", "/stream_options"},
      {R"("stream_options": {"include_usage": 1})", "/stream_options/include_usage"},
      {R"("logprobs": 2)", "/logprobs"},
      {R"("top_logprobs": "2")", "/top_logprobs"},
      {R"("frequency_penalty": [])", "/frequency_penalty"},
      {R"("user": 7)", "/user"},
      {R"("metadata": "x")", "/metadata"},
      {R"("logit_bias": [])", "/logit_bias"},
      {R"("parallel_tool_calls": 1)", "/parallel_tool_calls"},
      {R"("tool_choice": 3)", "/tool_choice"},
      {R"("tools": {})", "/tools"},
      {R"("tools": [3])", "/tools/0"},
      {R"("tools": [{"type": "function", "function": {"name": 3}}])", "/tools/0/function/name"},
      {R"("tools": [{"type": "function", "function": {"name": "f", "parameters": []}}])",
       "/tools/0/function/parameters"},
      {R"("tools": [{"type": "function", "function": {"name": "f", "strict": "yes"}}])",
       "/tools/0/function/strict"},
      {R"("agentrt": "s")", "/agentrt"},
      {R"("agentrt": {"session": 5})", "/agentrt/session"},
      {R"("agentrt": {"retain_s": "5"})", "/agentrt/retain_s"},
      {R"("chat_template_kwargs": {"enable_thinking": "no"})",
       "/chat_template_kwargs/enable_thinking"},
      {R"("stop_token_ids": [1, "2"])", "/stop_token_ids/1"},
      {R"("ignore_eos": 0)", "/ignore_eos"},
  };
  for (const Case& c : cases)
    expect_refused(chat_body(c.extra), kChat, "invalid_type", c.pointer);
  expect_refused(R"({"model": 3, "messages": []})", kChat, "invalid_type", "/model");
  expect_refused(R"({"model": "m", "messages": {}})", kChat, "invalid_type", "/messages");
  expect_refused(completion_body(R"("logprobs": true)"), kCompletions, "invalid_type", "/logprobs");
}

TEST(OpenAiRequest, RangesAndCaps) {
  struct Case {
    std::string extra;
    const char* pointer;
  };
  const Case cases[] = {
      {R"("temperature": -0.1)", "/temperature"},
      {R"("temperature": 2.5)", "/temperature"},
      {R"("top_p": 1.01)", "/top_p"},
      {R"("top_p": -1)", "/top_p"},
      {R"("max_tokens": 0)", "/max_tokens"},
      {R"("max_tokens": -3)", "/max_tokens"},
      {R"("max_tokens": 1048577)", "/max_tokens"},
      {R"("max_completion_tokens": 0)", "/max_completion_tokens"},
      {R"("n": 0)", "/n"},
      {R"("n": 129)", "/n"},
      {R"("n": 1e30)", "/n"},
      {R"("top_logprobs": 21)", "/top_logprobs"},
      {R"("top_logprobs": 2)", "/top_logprobs"},  // without "logprobs": true
      {R"("frequency_penalty": 2.5)", "/frequency_penalty"},
      {R"("presence_penalty": -2.01)", "/presence_penalty"},
      {R"("stop": "")", "/stop"},
      {R"("stop": ["a", ""])", "/stop/1"},
      {R"("stop": ")" + std::string(1025, 'x') + R"(")", "/stop"},
      {R"("model": "")", "/model"},
      {R"("model": ")" + std::string(300, 'm') + R"(")", "/model"},
      {R"("agentrt": {"retain_s": -1})", "/agentrt/retain_s"},
      {R"("agentrt": {"retain_s": 3601})", "/agentrt/retain_s"},
      {R"("agentrt": {"session": ""})", "/agentrt/session"},
      {R"("agentrt": {"kv_reuse": "partial"})", "/agentrt/kv_reuse"},
      {R"("agentrt": {"kv_reuse": "blend", "blend_recompute": 1.5})", "/agentrt/blend_recompute"},
      {R"("agentrt": {"kv_reuse": "blend", "blend_recompute": -0.5})", "/agentrt/blend_recompute"},
      {R"("agentrt": {"blend_recompute": 0.1})", "/agentrt/blend_recompute"},
      {R"("agentrt": {"blend_anchors": true})", "/agentrt/blend_anchors"},
      {R"("top_k": -2)", "/top_k"},
      {R"("min_p": 1.5)", "/min_p"},
      {R"("repetition_penalty": 0)", "/repetition_penalty"},
      {R"("stop_token_ids": [-1])", "/stop_token_ids/0"},
      {R"("tool_choice": "sometimes")", "/tool_choice"},
      {R"("tool_choice": "required")", "/tool_choice"},  // no tools
      {R"("tools": [)" + kCalculator + R"(], "tool_choice": {"type": "function", "function":
        {"name": "search"}})",
       "/tool_choice/function/name"},
      {R"("tools": [{"type": "function", "function": {"name": ""}}])", "/tools/0/function/name"},
  };
  for (const Case& c : cases)
    expect_refused(chat_body(c.extra), kChat, "invalid_value", c.pointer);
  std::string stops = R"("stop": [)";
  for (std::size_t i = 0; i <= sampling::kMaxStopStrings; ++i)
    stops += (i ? ",\"s" : "\"s") + std::to_string(i) + "\"";
  expect_refused(chat_body(stops + "]"), kChat, "invalid_value", "/stop");
  std::string tools = R"("tools": [)";
  for (std::size_t i = 0; i <= kMaxOpenAiTools; ++i)
    tools += (i ? "," : "") + kCalculator;
  expect_refused(chat_body(tools + "]"), kChat, "invalid_value", "/tools");
  std::string msgs = R"({"model": "m", "messages": [)";
  for (std::size_t i = 0; i <= kMaxOpenAiMessages; ++i)
    msgs += std::string(i ? "," : "") + R"({"role": "user", "content": "x"})";
  expect_refused(msgs + "]}", kChat, "invalid_value", "/messages");
  expect_refused(completion_body(R"("logprobs": 21)"), kCompletions, "invalid_value", "/logprobs");
}

TEST(OpenAiRequest, RequiredFields) {
  expect_refused(R"({"messages": [{"role": "user", "content": "x"}]})", kChat,
                 "missing_required_parameter", "/model");
  expect_refused(R"({"model": null, "messages": [{"role": "user", "content": "x"}]})", kChat,
                 "missing_required_parameter", "/model");
  expect_refused(R"({"model": "m"})", kChat, "missing_required_parameter", "/messages");
  expect_refused(R"({"model": "m", "messages": []})", kChat, "invalid_value", "/messages");
  expect_refused(R"({"model": "m"})", kCompletions, "missing_required_parameter", "/prompt");
  expect_refused(R"({"model": "m", "messages": [{"role": "user"}], "tools": [{"function":
                   {"name": "f"}}]})",
                 kChat, "missing_required_parameter", "/tools/0/type");
}

TEST(OpenAiRequest, BodyErrors) {
  expect_refused("", kChat, "invalid_body", "");
  expect_refused("not json", kChat, "invalid_body", "");
  expect_refused("[1]", kChat, "invalid_body", "");
  expect_refused(R"({"model": "m", "n": 1e400})", kChat, "invalid_body", "");
  std::string deep = R"({"model": "m", "metadata": )";
  for (int i = 0; i < kMaxJsonDepth + 5; ++i)
    deep += "[";
  auto r = parse_openai_request(deep, kChat);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "invalid_body");
  EXPECT_EQ(r.error().pointer.rfind("/metadata", 0), 0u) << r.error().pointer;
  std::string tool_deep = R"({"model": "m", "messages": [{"role": "user", "content": "x"}],
    "tools": [{"type": "function", "function": {"name": "f", "parameters": )";
  for (int i = 0; i < kMaxJsonDepth; ++i)
    tool_deep += R"({"a": )";
  tool_deep += "1";
  for (int i = 0; i < kMaxJsonDepth; ++i)
    tool_deep += "}";
  tool_deep += "}}]}";
  auto t = parse_openai_request(tool_deep, kChat);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().code, "invalid_body");
  EXPECT_EQ(t.error().pointer.rfind("/tools/0/function/parameters", 0), 0u) << t.error().pointer;
}

TEST(OpenAiRequest, MessageErrorsCarryTheirPointer) {
  struct Case {
    const char* messages;
    const char* code;
    const char* pointer;
  };
  const Case cases[] = {
      {R"([{"role": "bot", "content": "x"}])", "invalid_value", "/messages/0/role"},
      {R"([{"content": "x"}])", "invalid_value", "/messages/0/role"},
      {R"([{"role": "user", "content": "x"}, 3])", "invalid_type", "/messages/1"},
      {R"([{"role": "user", "content": 3}])", "invalid_type", "/messages/0/content"},
      {R"([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}])",
       "unsupported_parameter", "/messages/0/content/0/type"},
      {R"([{"role": "user", "content": [{"type": "text"}]}])", "invalid_value",
       "/messages/0/content/0"},
      {R"([{"role": "user", "content": [{"type": "text", "text": "a", "x": 1}]}])",
       "unknown_parameter", "/messages/0/content/0/x"},
      {R"([{"role": "user", "content": "x", "tool_calls": [{"function": {"name": "f"}}]}])",
       "invalid_value", "/messages/0/tool_calls"},
      {R"([{"role": "assistant", "tool_calls": [{"type": "function", "function": {}}]}])",
       "invalid_value", "/messages/0/tool_calls/0/function/name"},
      {R"([{"role": "assistant", "tool_calls": [{"type": "web", "function": {}}]}])",
       "unsupported_parameter", "/messages/0/tool_calls/0/type"},
      {R"([{"role": "assistant", "tool_calls": [{"type": "function", "function":
         {"name": "f", "arguments": 3}}]}])",
       "invalid_value", "/messages/0/tool_calls/0/function/arguments"},
      {R"([{"role": "assistant", "content": "x", "refusal": "no"}])", "unsupported_parameter",
       "/messages/0/refusal"},
      {R"([{"role": "assistant", "audio": {"id": "a"}}])", "unsupported_parameter",
       "/messages/0/audio"},
      {R"([{"role": "assistant", "function_call": {"name": "f"}}])", "unsupported_parameter",
       "/messages/0/function_call"},
      {R"([{"role": "user", "content": "x", "cache": 1}])", "unknown_parameter",
       "/messages/0/cache"},
      {R"([{"role": "tool", "content": "x", "tool_call_id": 5}])", "invalid_type",
       "/messages/0/tool_call_id"},
  };
  for (const Case& c : cases)
    expect_refused(std::string(R"({"model": "m", "messages": )") + c.messages + "}", kChat, c.code,
                   c.pointer);
}

TEST(OpenAiRequest, CompletionsPrompt) {
  auto text =
      parse_openai_request(completion_body(R"("max_tokens": 8, "logprobs": 2)"), kCompletions);
  ASSERT_TRUE(text.ok()) << text.error().message;
  EXPECT_EQ(text->endpoint, kCompletions);
  EXPECT_EQ(text->prompt_text, "1+1=");
  EXPECT_FALSE(text->prompt_is_tokens);
  EXPECT_TRUE(text->want_logprobs);
  EXPECT_EQ(text->top_logprobs, 2);
  EXPECT_EQ(text->params.logprobs, 2);
  auto zero = parse_openai_request(completion_body(R"("logprobs": 0, "best_of": 1)"), kCompletions);
  ASSERT_TRUE(zero.ok()) << zero.error().message;
  EXPECT_EQ(zero->params.logprobs, 0);
  auto one = parse_openai_request(R"({"model": "m", "prompt": ["hello"]})", kCompletions);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->prompt_text, "hello");
  auto empty = parse_openai_request(R"({"model": "m", "prompt": ""})", kCompletions);
  ASSERT_TRUE(empty.ok());
  auto toks = parse_openai_request(R"({"model": "m", "prompt": [1, 2, 3]})", kCompletions);
  ASSERT_TRUE(toks.ok()) << toks.error().message;
  EXPECT_TRUE(toks->prompt_is_tokens);
  EXPECT_EQ(toks->prompt_tokens, (std::vector<std::int32_t>{1, 2, 3}));
  auto nested = parse_openai_request(R"({"model": "m", "prompt": [[4, 5]], "n": 2,
    "best_of": 2, "echo": false, "suffix": null, "stream": true,
    "stream_options": {"include_usage": true}})",
                                     kCompletions);
  ASSERT_TRUE(nested.ok()) << nested.error().message;
  EXPECT_EQ(nested->prompt_tokens, (std::vector<std::int32_t>{4, 5}));
  EXPECT_EQ(nested->n, 2);
  struct Case {
    const char* prompt;
    const char* code;
    const char* pointer;
  };
  const Case cases[] = {
      {R"(["a", "b"])", "invalid_value", "/prompt"},
      {R"([[1], [2]])", "invalid_value", "/prompt"},
      {"[]", "invalid_value", "/prompt"},
      {"[[]]", "invalid_value", "/prompt/0"},
      {"3", "invalid_type", "/prompt"},
      {R"([1, "a"])", "invalid_type", "/prompt/1"},
      {"[1, 2.5]", "invalid_type", "/prompt/1"},
      {"[-1]", "invalid_value", "/prompt/0"},
      {"[2147483648]", "invalid_value", "/prompt/0"},
      {R"([{"a": 1}])", "invalid_type", "/prompt/0"},
  };
  for (const Case& c : cases)
    expect_refused(std::string(R"({"model": "m", "prompt": )") + c.prompt + "}", kCompletions,
                   c.code, c.pointer);
  auto r = parse_openai_request(R"({"model": "m", "prompt": ["a", "b"]})", kCompletions);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("only one prompt per request"), std::string::npos);
}

TEST(OpenAiRequest, ToolChoiceDefaults) {
  auto with_tools = parse_openai_request(chat_body(R"("tools": [)" + kCalculator + "]"), kChat);
  ASSERT_TRUE(with_tools.ok()) << with_tools.error().message;
  EXPECT_EQ(with_tools->tool_choice.kind, ToolChoice::Kind::auto_);
  EXPECT_EQ(with_tools->conversation.tools[0].parameters["required"][0], "expression");
  auto none = parse_openai_request(
      chat_body(R"("tools": [)" + kCalculator + R"(], "tool_choice": "none")"), kChat);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->tool_choice.kind, ToolChoice::Kind::none);
  EXPECT_EQ(none->conversation.tools.size(), 1u);
}

TEST(OpenAiError, ShapeAndTypes) {
  ApiError e = api_error(400, "invalid_value", "Invalid 'temperature': ...", "/temperature");
  const auto j = to_openai_json(e);
  EXPECT_EQ(j["error"]["message"], "Invalid 'temperature': ...");
  EXPECT_EQ(j["error"]["type"], "invalid_request_error");
  EXPECT_EQ(j["error"]["param"], "temperature");
  EXPECT_EQ(j["error"]["code"], "invalid_value");
  const auto k = to_openai_json(api_error(404, "", "no such model", ""));
  EXPECT_TRUE(k["error"]["param"].is_null());
  EXPECT_TRUE(k["error"]["code"].is_null());
  EXPECT_EQ(k["error"]["type"], "not_found_error");
  EXPECT_STREQ(openai_error_type(401), "authentication_error");
  EXPECT_STREQ(openai_error_type(429), "rate_limit_error");
  EXPECT_STREQ(openai_error_type(500), "server_error");
  EXPECT_STREQ(openai_error_type(503), "overloaded_error");
  EXPECT_EQ(to_openai_json(api_error(400, "x", "m", "messages/2/role"))["error"]["param"],
            "messages/2/role");
  // Invalid UTF-8 in a message still dumps.
  EXPECT_NO_THROW((void)to_openai_json(api_error(400, "x", "\xff", ""))
                      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace
}  // namespace agentrt::api
