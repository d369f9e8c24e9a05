// The OpenAI-compatible routes end to end, in process: real HTTP on loopback, tiny-calc on
// the CPU. The official clients run against the same routes in tests/clients.
#include <gtest/gtest.h>

#include <fstream>
#include <future>
#include <thread>

#include "api/server_testing.h"

namespace agentrt::api {
namespace {

using nlohmann::json;
using testing::body_of;
using testing::fresh_dir;
using testing::RunningServer;
using testing::test_options;

const char* kJson = "application/json";

// tiny-calc's own conversation shape: its system prompt and calculator tool.
json beads_request() {
  std::ifstream f(testing::source_dir() / "models/tiny-calc/examples/beads.json");
  json r = json::parse(f);
  r["model"] = "tiny-calc";
  r["temperature"] = 0;
  r["max_tokens"] = 120;
  return r;
}

ServerOptions options(const std::string& name) {
  ServerOptions o = test_options(fresh_dir(name));
  o.enable_thinking = false;
  return o;
}

// The data frames of an SSE body, [DONE] excluded.
std::vector<json> sse_frames(const std::string& body, bool* done) {
  std::vector<json> out;
  std::size_t pos = 0;
  while ((pos = body.find("data: ", pos)) != std::string::npos) {
    const std::size_t end = body.find("\n\n", pos);
    const std::string data = body.substr(pos + 6, end - pos - 6);
    pos = end;
    if (data == "[DONE]") {
      *done = true;
      continue;
    }
    out.push_back(json::parse(data));
  }
  return out;
}

std::int64_t metric(httplib::Client& c, const std::string& name) {
  auto r = c.Get("/metrics");
  if (!r) return -1;
  const std::string& b = r->body;
  const std::size_t at = b.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stoll(b.substr(at + name.size() + 2));
}

TEST(OpenAiRoutes, ToolCallRoundTripKeepsTheSessionPinned) {
  RunningServer s(options("oa-tools"));
  ASSERT_TRUE(s.ok()) << s.error();
  auto c = s.client();
  json req = beads_request();
  auto r = c.Post("/v1/chat/completions", req.dump(), kJson);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  json b = json::parse(r->body);
  EXPECT_EQ(b["object"], "chat.completion");
  const json& choice = b["choices"][0];
  ASSERT_EQ(choice["finish_reason"], "tool_calls") << r->body;
  const json& call = choice["message"]["tool_calls"][0];
  EXPECT_EQ(call["type"], "function");
  EXPECT_EQ(call["function"]["name"], "calculator");
  EXPECT_EQ(call["id"].get<std::string>().rfind("call_", 0), 0u);
  const json args = json::parse(call["function"]["arguments"].get<std::string>());
  EXPECT_TRUE(args["expression"].is_string());
  EXPECT_EQ(metric(c, "agentrt:session_pins_active"), 1);

  req["messages"].push_back(choice["message"]);
  req["messages"].push_back({{"role", "tool"}, {"tool_call_id", call["id"]}, {"content", "24"}});
  auto r2 = c.Post("/v1/chat/completions", req.dump(), kJson);
  ASSERT_TRUE(r2);
  ASSERT_EQ(r2->status, 200) << r2->body;
  json b2 = json::parse(r2->body);
  // The conversation's prompt came back: its prefix was served from the pinned KV.
  EXPECT_GT(b2["usage"]["prompt_tokens_details"]["cached_tokens"].get<int>(), 200);
  EXPECT_EQ(metric(c, "agentrt:session_pin_hits_total"), 1);
  EXPECT_EQ(metric(c, "agentrt:session_pins_created_total"), 1);
}

TEST(OpenAiRoutes, ToolChoiceRequiredOrNamedMakesTheModelCall) {
  RunningServer s(options("oa-choice"));
  ASSERT_TRUE(s.ok()) << s.error();
  auto c = s.client();
  for (json choice :
       {json("required"), json{{"type", "function"}, {"function", {{"name", "calculator"}}}}}) {
    json req = beads_request();
    req["tool_choice"] = choice;
    auto r = c.Post("/v1/chat/completions", req.dump(), kJson);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const json msg = json::parse(r->body)["choices"][0]["message"];
    ASSERT_TRUE(msg.contains("tool_calls")) << choice.dump() << " " << msg.dump();
    EXPECT_EQ(msg["tool_calls"][0]["function"]["name"], "calculator");
    const auto args = json::parse(msg["tool_calls"][0]["function"]["arguments"].get<std::string>());
    EXPECT_TRUE(args["expression"].is_string()) << args.dump();
  }
  // After the tool result tiny-calc answers without a call. tool_choice required makes the
  // reply a call from its first token, under the call's grammar (api/forced_call.h): the
  // call parses and its arguments follow the tool's parameters schema.
  json after = beads_request();
  const json first = json::parse(c.Post("/v1/chat/completions", after.dump(), kJson)->body);
  const json reply = first["choices"][0]["message"];
  ASSERT_TRUE(reply.contains("tool_calls")) << first.dump();
  after["messages"].push_back(reply);
  after["messages"].push_back(
      {{"role", "tool"}, {"tool_call_id", reply["tool_calls"][0]["id"]}, {"content", "24"}});
  const json answer = json::parse(c.Post("/v1/chat/completions", after.dump(), kJson)->body);
  ASSERT_FALSE(answer["choices"][0]["message"].contains("tool_calls")) << answer.dump();
  after["tool_choice"] = "required";
  const json forced = json::parse(c.Post("/v1/chat/completions", after.dump(), kJson)->body);
  const json& fc = forced["choices"][0];
  EXPECT_EQ(fc["finish_reason"], "tool_calls") << forced.dump();
  ASSERT_TRUE(fc["message"].contains("tool_calls")) << forced.dump();
  EXPECT_TRUE(fc["message"]["content"].is_null() || fc["message"]["content"] == "")
      << forced.dump();
  const json fargs =
      json::parse(fc["message"]["tool_calls"][0]["function"]["arguments"].get<std::string>());
  ASSERT_TRUE(fargs.is_object()) << forced.dump();
  EXPECT_EQ(fargs.size(), 1u) << fargs.dump();  // additionalProperties of the call: only
  EXPECT_TRUE(fargs["expression"].is_string()) << fargs.dump();  // the schema's key
  EXPECT_LE(forced["usage"]["prompt_tokens_details"]["cached_tokens"].get<int>(),
            forced["usage"]["prompt_tokens"].get<int>());
  // A tool whose parameters use a keyword the grammar does not support: the call is forced
  // by its opening only, after the reply's own text (the model first writes freely).
  json loose = after;
  loose["tools"][0]["function"]["parameters"]["properties"]["expression"]["pattern"] = "^[0-9]";
  const json late = json::parse(c.Post("/v1/chat/completions", loose.dump(), kJson)->body);
  const json& lc = late["choices"][0];
  EXPECT_EQ(lc["finish_reason"], "tool_calls") << late.dump();
  ASSERT_TRUE(lc["message"].contains("tool_calls")) << late.dump();
  EXPECT_EQ(lc["message"]["content"], answer["choices"][0]["message"]["content"]);
  json none = beads_request();
  none["tool_choice"] = "none";
  const json msg = json::parse(c.Post("/v1/chat/completions", none.dump(), kJson)->body);
  EXPECT_FALSE(msg["choices"][0]["message"].contains("tool_calls")) << msg.dump();
}

TEST(OpenAiRoutes, StreamsDeltasToolCallsAndUsage) {
  RunningServer s(options("oa-stream"));
  ASSERT_TRUE(s.ok()) << s.error();
  auto c = s.client();
  json req = beads_request();
  req["stream"] = true;
  req["stream_options"] = {{"include_usage", true}};
  auto whole = json::parse(c.Post("/v1/chat/completions", beads_request().dump(), kJson)->body);
  auto r = c.Post("/v1/chat/completions", req.dump(), kJson);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/event-stream");
  bool done = false;
  auto frames = sse_frames(r->body, &done);
  EXPECT_TRUE(done);
  std::string content, args, finish;
  json usage;
  for (const auto& f : frames) {
    if (f.contains("usage") && f["choices"].empty()) usage = f["usage"];
    for (const auto& ch : f["choices"]) {
      if (ch["finish_reason"].is_string()) finish = ch["finish_reason"];
      const json& d = ch["delta"];
      if (d.contains("content") && d["content"].is_string()) content += d["content"];
      if (d.contains("tool_calls")) args += d["tool_calls"][0]["function"].value("arguments", "");
    }
  }
  // Greedy: the stream spells out the same reply as the whole response.
  const json& msg = whole["choices"][0]["message"];
  EXPECT_EQ(content, msg["content"]);
  EXPECT_EQ(args, msg["tool_calls"][0]["function"]["arguments"]);
  EXPECT_EQ(finish, "tool_calls");
  EXPECT_EQ(usage["completion_tokens"], whole["usage"]["completion_tokens"]);
}

TEST(OpenAiRoutes, ChoicesStopStringsLogprobsAndCompletions) {
  RunningServer s(options("oa-n"));
  ASSERT_TRUE(s.ok()) << s.error();
  auto c = s.client();
  json req = beads_request();
  req["n"] = 3;
  req["temperature"] = 1.0;
  req["seed"] = 7;
  req["logprobs"] = true;
  req["top_logprobs"] = 2;
  auto r = c.Post("/v1/chat/completions", req.dump(), kJson);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  json b = json::parse(r->body);
  ASSERT_EQ(b["choices"].size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(b["choices"][i]["index"], i);
    const json& lp = b["choices"][i]["logprobs"]["content"];
    ASSERT_FALSE(lp.empty());
    EXPECT_LE(lp[0]["logprob"].get<double>(), 0.0);
    EXPECT_EQ(lp[0]["top_logprobs"].size(), 2u);
  }
  // A stop string cuts the reply before it.
  json stop = beads_request();
  stop["stop"] = {" ="};
  auto rs = json::parse(c.Post("/v1/chat/completions", stop.dump(), kJson)->body);
  EXPECT_EQ(rs["choices"][0]["finish_reason"], "stop") << rs.dump();
  EXPECT_EQ(rs["choices"][0]["message"]["content"].get<std::string>().find(" ="),
            std::string::npos);
  // The legacy completions endpoint, on a raw prompt.
  json comp = {{"model", "tiny-calc"},
               {"prompt", "Sam has 3 apples"},
               {"max_tokens", 5},
               {"temperature", 0},
               {"logprobs", 1}};
  auto rc = c.Post("/v1/completions", comp.dump(), kJson);
  ASSERT_TRUE(rc);
  ASSERT_EQ(rc->status, 200) << rc->body;
  json bc = json::parse(rc->body);
  EXPECT_EQ(bc["object"], "text_completion");
  EXPECT_EQ(bc["usage"]["completion_tokens"], 5);
  EXPECT_EQ(bc["choices"][0]["logprobs"]["tokens"].size(), 5u);
}

// response_format json_schema: every reply, sampled at temperature 1 from tiny-calc (which
// never saw JSON), parses and follows the schema; a schema keyword the compiler cannot
// honour is a 400 naming its place. (No free strings here: without maxLength, a model that
// never learned JSON may not close one within max_tokens.)
TEST(OpenAiRoutes, ResponseFormatJsonSchemaConstrainsTheReply) {
  RunningServer s(options("oa-schema"));
  ASSERT_TRUE(s.ok()) << s.error();
  auto c = s.client();
  const json schema = json::parse(R"({
    "type": "object",
    "properties": {
      "answer": {"type": "integer"},
      "unit": {"enum": ["stamps", "beads"]},
      "steps": {"type": "array", "items": {"type": "integer"}, "maxItems": 2},
      "sure": {"type": "boolean"}
    },
    "required": ["answer", "unit", "steps", "sure"],
    "additionalProperties": false})");
  json req = {{"model", "tiny-calc"},
              {"messages", {{{"role", "user"}, {"content", "How many stamps? Answer in JSON."}}}},
              {"temperature", 1},
              {"seed", 7},
              {"n", 4},
              {"max_tokens", 400},
              {"response_format",
               {{"type", "json_schema"}, {"json_schema", {{"name", "r"}, {"schema", schema}}}}}};
  auto r = c.Post("/v1/chat/completions", req.dump(), kJson);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json b = json::parse(r->body);
  ASSERT_EQ(b["choices"].size(), 4u);
  for (const auto& ch : b["choices"]) {
    EXPECT_EQ(ch["finish_reason"], "stop") << ch.dump();
    const json v = json::parse(ch["message"]["content"].get<std::string>(), nullptr, false);
    ASSERT_TRUE(v.is_object()) << ch.dump();
    EXPECT_EQ(v.size(), 4u) << v.dump();
    EXPECT_TRUE(v["sure"].is_boolean()) << v.dump();
    EXPECT_TRUE(v["answer"].is_number_integer()) << v.dump();
    EXPECT_TRUE(v["unit"] == "stamps" || v["unit"] == "beads") << v.dump();
    ASSERT_TRUE(v["steps"].is_array()) << v.dump();
    EXPECT_LE(v["steps"].size(), 2u);
    for (const auto& step : v["steps"])
      EXPECT_TRUE(step.is_number_integer()) << v.dump();
  }

  json bad = req;
  bad["response_format"]["json_schema"]["schema"]["properties"]["unit"] = {{"type", "string"},
                                                                           {"pattern", "^[a-z]+$"}};
  auto e = c.Post("/v1/chat/completions", bad.dump(), kJson);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->status, 400) << e->body;
  EXPECT_EQ(json::parse(e->body)["error"]["param"],
            "response_format/json_schema/schema/properties/unit/pattern")
      << e->body;
}

TEST(OpenAiRoutes, ErrorsAreOpenAiErrorObjects) {
  RunningServer s(options("oa-errors"));
  ASSERT_TRUE(s.ok()) << s.error();
  auto c = s.client();
  json bad = beads_request();
  bad["temperature"] = 9;
  auto r = c.Post("/v1/chat/completions", bad.dump(), kJson);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  json e = json::parse(r->body)["error"];
  EXPECT_EQ(e["type"], "invalid_request_error");
  EXPECT_EQ(e["param"], "temperature");
  json unknown = beads_request();
  unknown["model"] = "gpt-9";
  r = c.Post("/v1/chat/completions", unknown.dump(), kJson);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(json::parse(r->body)["error"]["param"], "model");
  json field = beads_request();
  field["response_format"] = {{"type", "grammar"}};
  r = c.Post("/v1/chat/completions", field.dump(), kJson);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(json::parse(r->body)["error"]["param"], "response_format/type");
  json big = beads_request();
  big["max_tokens"] = 5000;
  r = c.Post("/v1/chat/completions", big.dump(), kJson);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(json::parse(r->body)["error"]["code"], "context_length_exceeded");
}

TEST(OpenAiRoutes, AClientThatGoesAwayFreesItsRequest) {
  RunningServer s(options("oa-gone"));
  ASSERT_TRUE(s.ok()) << s.error();
  json req = beads_request();
  req["stream"] = true;
  req["max_tokens"] = 3000;
  req["ignore_eos"] = true;
  req["tools"] = json::array();
  {
    auto c = s.client();
    int chunks = 0;
    httplib::Request hr;
    hr.method = "POST";
    hr.path = "/v1/chat/completions";
    hr.body = req.dump();
    hr.set_header("Content-Type", kJson);
    hr.content_receiver = [&](const char*, std::size_t, std::uint64_t, std::uint64_t) {
      return ++chunks < 5;
    };
    auto r = c.send(hr);
    EXPECT_FALSE(r);  // we hung up after 5 chunks
  }
  auto c = s.client();
  for (int i = 0; i < 100 && metric(c, "vllm:num_requests_running{model_name=\"tiny-calc\"}") != 0;
       ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto m = c.Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_NE(m->body.find("vllm:num_requests_running{model_name=\"tiny-calc\"} 0"),
            std::string::npos);
  EXPECT_NE(m->body.find("finished_reason=\"abort\""), std::string::npos);
}

TEST(OpenAiRoutes, KeysAndTheCompletionCapAnswerOpenAiErrors) {
  auto o = options("oa-cap");
  o.api_key_file = o.data_dir / "keys";
  std::ofstream(o.api_key_file) << "test-key-0123456789abcdef\n";
  o.max_completions = 1;
  RunningServer s(std::move(o));
  ASSERT_TRUE(s.ok()) << s.error();
  auto c = s.client();
  auto r = c.Post("/v1/chat/completions", beads_request().dump(), kJson);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(json::parse(r->body)["error"]["type"], "authentication_error");
  c.set_bearer_token_auth("test-key-0123456789abcdef");
  // One completion streams slowly (the reader waits); a second one is refused at once.
  json slow = beads_request();
  slow["stream"] = true;
  slow["max_tokens"] = 2000;
  slow["ignore_eos"] = true;
  slow["tools"] = json::array();
  std::promise<void> started, release;
  auto released = release.get_future().share();
  std::thread reader([&] {
    auto rc = s.client();
    rc.set_bearer_token_auth("test-key-0123456789abcdef");
    httplib::Request hr;
    hr.method = "POST";
    hr.path = "/v1/chat/completions";
    hr.body = slow.dump();
    hr.set_header("Content-Type", kJson);
    bool first = true;
    hr.content_receiver = [&](const char*, std::size_t, std::uint64_t, std::uint64_t) {
      if (first) started.set_value();
      first = false;
      released.wait();
      return false;
    };
    (void)rc.send(hr);
  });
  started.get_future().wait();
  auto busy = c.Post("/v1/chat/completions", beads_request().dump(), kJson);
  release.set_value();
  reader.join();
  ASSERT_TRUE(busy);
  EXPECT_EQ(busy->status, 429);
  EXPECT_EQ(busy->get_header_value("Retry-After"), "1");
  EXPECT_EQ(json::parse(busy->body)["error"]["type"], "rate_limit_error");
  // The slot is free again once the first reply has ended.
  for (int i = 0; i < 100; ++i) {
    auto ok = c.Post("/v1/chat/completions", beads_request().dump(), kJson);
    ASSERT_TRUE(ok);
    if (ok->status == 200) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ADD_FAILURE() << "the completion slot was never released";
}

}  // namespace
}  // namespace agentrt::api
