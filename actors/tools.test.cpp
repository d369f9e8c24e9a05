// Built-in tools (HTTP against a loopback server, command), the registry's schema checks,
// the append-shape suffix against the real chat template, and best-of-N answer helpers.
#include <httplib.h>

#include <gtest/gtest.h>

#include <signal.h>

#include <atomic>
#include <limits>
#include <thread>

#include "actors/agent_prompt.h"
#include "actors/builtin_tools.h"
#include "actors/sampler_actor.h"
#include "actors/tool.h"
#include "actors/tool_registry.h"

namespace agentrt::actors {
namespace {

using namespace std::chrono_literals;

class LoopbackServer {
 public:
  LoopbackServer() {
    server_.Get("/hello", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("hello from loopback", "text/plain");
    });
    server_.Post("/echo", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content("got " + req.body, "text/plain");
    });
    server_.Get("/big", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(1000, 'x'), "text/plain");
    });
    // 64 MiB in 64 KiB chunks; huge_sent counts what the client accepted.
    server_.Get("/huge", [this](const httplib::Request&, httplib::Response& res) {
      res.set_chunked_content_provider("text/plain", [this](std::size_t, httplib::DataSink& sink) {
        static const std::string chunk(64 * 1024, 'h');
        if (!sink.write(chunk.data(), chunk.size())) return false;
        if ((huge_sent += chunk.size()) >= kHugeBytes) sink.done();
        return true;
      });
    });
    // One byte every 20 ms for 4 s: each read is quick, the whole response is not.
    server_.Get("/drip", [](const httplib::Request&, httplib::Response& res) {
      res.set_chunked_content_provider("text/plain",
                                       [](std::size_t offset, httplib::DataSink& sink) {
                                         std::this_thread::sleep_for(20ms);
                                         if (!sink.write("d", 1)) return false;
                                         if (offset + 1 >= 200) sink.done();
                                         return true;
                                       });
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running())
      std::this_thread::sleep_for(1ms);
  }
  ~LoopbackServer() {
    server_.stop();
    thread_.join();
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  static constexpr std::size_t kHugeBytes = 64u << 20;
  std::atomic<std::size_t> huge_sent{0};

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

std::shared_ptr<Tool> http_tool(std::vector<std::string> hosts = {"127.0.0.1", "localhost",
                                                                  "::1"}) {
  ToolConfig c;
  c.builtin = BuiltinTool::http;
  c.http.allow_hosts = std::move(hosts);
  c.http.max_response_bytes = 100;
  auto t = make_builtin_tool(c);
  EXPECT_TRUE(t.ok());
  return *t;
}

TEST(HttpTool, GetAndPostOnLoopback) {
  LoopbackServer srv;
  auto tool = http_tool();
  auto r = tool->invoke({{"url", srv.url("/hello")}});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(*r, "HTTP 200\nhello from loopback");
  r = tool->invoke({{"url", srv.url("/echo")}, {"method", "POST"}, {"body", "abc"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "HTTP 200\ngot abc");
  r = tool->invoke({{"url", srv.url("/missing")}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->substr(0, 8), "HTTP 404");
  r = tool->invoke({{"url", srv.url("/big")}});
  ASSERT_TRUE(r.ok());
  EXPECT_NE(r->find("[cut at 100 bytes]"), std::string::npos);
}

TEST(HttpTool, HostsOutsideTheAllowListAreRefused) {
  LoopbackServer srv;
  auto tool = http_tool();
  auto r = tool->invoke({{"url", "http://example.com/"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "host 'example.com' is not in the allow-list");
  r = tool->invoke({{"url", "http://10.0.0.1:80/"}});
  EXPECT_FALSE(r.ok());
  r = tool->invoke({{"url", "http://user@127.0.0.1/"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "url: user info is not allowed");
  r = tool->invoke({{"url", "ftp://127.0.0.1/"}});
  EXPECT_FALSE(r.ok());
  auto only_other = http_tool({"localhost"});
  EXPECT_FALSE(only_other->invoke({{"url", srv.url("/hello")}}).ok());
  ToolConfig none;
  none.builtin = BuiltinTool::http;
  none.http.allow_hosts.clear();
  EXPECT_FALSE(make_builtin_tool(none).ok());
}

TEST(HttpTool, PortsOutsideOneTo65535AreRefused) {
  auto tool = http_tool();
  for (const char* port : {"0", "65536", "99999", "123456", "-1", "8a"}) {
    auto r = tool->invoke({{"url", std::string("http://127.0.0.1:") + port + "/"}});
    ASSERT_FALSE(r.ok()) << port;
    EXPECT_EQ(r.error().message, std::string("url: bad port '") + port + "' (expected 1-65535)");
  }
}

// The body is read only up to the cap: the server cannot hand over its 64 MiB (without the
// streaming cut the client read all of it, then cut).
TEST(HttpTool, ReadingStopsAtTheCut) {
  LoopbackServer srv;
  auto tool = http_tool();
  auto r = tool->invoke({{"url", srv.url("/huge")}});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(*r, "HTTP 200\n" + std::string(100, 'h') + "\n[cut at 100 bytes]");
  EXPECT_LT(srv.huge_sent.load(), LoopbackServer::kHugeBytes / 2);
}

// A server that answers slowly but steadily is cut off at the timeout: read timeouts alone
// (per recv) would let it run its full 4 s.
TEST(HttpTool, TheTimeoutEndsTheWholeCall) {
  LoopbackServer srv;
  ToolConfig c;
  c.builtin = BuiltinTool::http;
  c.http.timeout = 300ms;
  auto tool = make_builtin_tool(c);
  ASSERT_TRUE(tool.ok());
  auto r = (*tool)->invoke({{"url", srv.url("/drip")}});
  ASSERT_FALSE(r.ok()) << *r;
  EXPECT_EQ(r.error().code, ErrorCode::timeout);
  EXPECT_EQ(r.error().message, "request to 127.0.0.1 timed out after 300 ms");
}

TEST(HttpTool, ConnectionFailureIsAnError) {
  auto tool = http_tool();
  auto r = tool->invoke({{"url", "http://127.0.0.1:1/"}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("request to 127.0.0.1 failed"), std::string::npos);
}

TEST(CommandTool, OffUnlessConfiguredThenRunsArgvWithLimits) {
  ToolConfig c;
  c.builtin = BuiltinTool::command;
  EXPECT_FALSE(make_builtin_tool(c).ok()) << "no argv: no command tool";
  c.command.argv = {"cat"};
  auto cat = make_builtin_tool(c);
  ASSERT_TRUE(cat.ok());
  auto r = (*cat)->invoke({{"input", "piped through cat"}});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(*r, "piped through cat");
  EXPECT_EQ((*cat)->spec().parameters["additionalProperties"], false);
}

TEST(CommandTool, TimeoutOutputLimitAndExitStatus) {
  auto r = run_command({"sleep", "5"}, "", 200ms, 1024);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::timeout);
  r = run_command({"sh", "-c", "yes | head -c 5000"}, "", 5s, 100);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_NE(r->find("[output cut at 100 bytes]"), std::string::npos);
  EXPECT_EQ(r->substr(0, 4), "y\ny\n");
  r = run_command({"sh", "-c", "echo oops; exit 3"}, "", 5s, 100);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "command exited with status 3: oops\n");
  r = run_command({"/no/such/binary"}, "", 5s, 100);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::not_found);
}

// A child that exits without reading its stdin: the write gets EPIPE, the process lives,
// and the SIGPIPE disposition is still the default (it used to be set to ignored).
TEST(CommandTool, AChildThatIgnoresStdinNeitherKillsNorChangesSigpipe) {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  struct sigaction before {};
  ASSERT_EQ(::sigaction(SIGPIPE, &dfl, &before), 0);
  auto r = run_command({"true"}, std::string(4 << 20, 'x'), 5s, 100);
  struct sigaction after {};
  ASSERT_EQ(::sigaction(SIGPIPE, &before, &after), 0);
  EXPECT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(after.sa_handler, SIG_DFL) << "run_command changed SIGPIPE for the whole process";
  sigset_t pending;
  sigpending(&pending);
  EXPECT_EQ(sigismember(&pending, SIGPIPE), 0) << "a SIGPIPE was left pending";
}

TEST(CommandTool, AppendedArgsAreNoOptionsAndAreCapped) {
  ToolConfig c;
  c.builtin = BuiltinTool::command;
  c.command.argv = {"echo"};
  c.command.append_args = true;
  auto tool = make_builtin_tool(c);
  ASSERT_TRUE(tool.ok());
  auto r = (*tool)->invoke({{"args", {"a", "b"}}});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(*r, "a b\n");
  r = (*tool)->invoke({{"args", {"ok", "-e"}}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "command: /args/1: '-e': options (a leading '-') and empty arguments may not be "
            "appended");
  EXPECT_FALSE((*tool)->invoke({{"args", {"--help"}}}).ok());
  EXPECT_FALSE((*tool)->invoke({{"args", {""}}}).ok());
  Json many = Json::array();
  for (std::size_t i = 0; i <= kMaxCommandArgs; ++i)
    many.push_back("x");
  r = (*tool)->invoke({{"args", many}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "command: /args: 17 arguments, limit 16 (kMaxCommandArgs)");
  r = (*tool)->invoke({{"args", {std::string(kMaxCommandArgBytes + 1, 'y')}}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "command: /args/0: 257 bytes, limit 256 (kMaxCommandArgBytes)");
  // The registry refuses the same calls by schema before they reach the tool.
  ToolRegistry reg;
  ASSERT_TRUE(reg.add(*tool).ok());
  EXPECT_FALSE(reg.check_call({"", "command", {{"args", many}}}).ok());
}

// An agent's call to a tool outside its own list is refused before it runs, even when
// the runtime has that tool registered.
TEST(ToolRegistry, ACallOutsideTheAgentsToolsIsRefused) {
  ToolRegistry reg;
  ASSERT_TRUE(reg.add(*make_builtin_tool(ToolConfig{})).ok());
  chat::ToolCall call{"", "calculator", {{"expression", "1 + 2"}}};
  EXPECT_TRUE(reg.check_call(call, {"calculator"}).ok());
  auto r = reg.check_call(call, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::not_found);
  EXPECT_EQ(r.error().message,
            "tool 'calculator' is not available to this agent (its tools: none)");
  r = reg.check_call(call, {"http_request"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "tool 'calculator' is not available to this agent (its tools: http_request)");
}

TEST(ToolRegistry, ValidatesArgumentsAgainstTheSchema) {
  ToolRegistry reg;
  ASSERT_TRUE(reg.add(*make_builtin_tool(ToolConfig{})).ok());
  EXPECT_FALSE(reg.add(*make_builtin_tool(ToolConfig{})).ok()) << "duplicate name";
  chat::ToolCall call{"", "calculator", {{"expression", "1 + 2"}}};
  EXPECT_TRUE(reg.check_call(call).ok());
  call.arguments = "{\"expression\": \"1 + 2\"}";  // a string holding JSON
  EXPECT_TRUE(reg.check_call(call).ok());
  call.arguments = {{"expr", "1 + 2"}};
  auto bad = reg.check_call(call);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message,
            "tool 'calculator': arguments: /: missing required property 'expression'");
  call.name = "nope";
  EXPECT_EQ(reg.check_call(call).error().code, ErrorCode::not_found);
  auto defs = reg.definitions({"calculator"});
  ASSERT_TRUE(defs.ok());
  const std::string expected =
      R"j({"type":"function","function":{"name":"calculator","description":"Evaluate an )j"
      R"j(integer arithmetic expression with + - * / and parentheses. Division must be )j"
      R"j(exact.","parameters":{"type":"object","properties":{"expression":{"type":)j"
      R"j("string","description":"The expression, e.g. 12 * (3 + 4)"}},"required":)j"
      R"j(["expression"]}}})j";
  EXPECT_EQ((*defs)[0].raw.dump(), expected);
  EXPECT_FALSE(reg.definitions({"calculator", "missing"}).ok());
}

TEST(AgentPrompt, ToolSuffixIsWhatTheTemplateRenders) {
  // The reply as generated ends with <|im_end|>; the suffix must continue it exactly as
  // the Qwen3 template renders assistant + tool messages + a generation prompt.
  chat::Conversation conv;
  conv.messages.push_back({chat::Role::user, "q", {}, {}, {}, {}});
  chat::ToolCall c1{"", "calculator", {{"expression", "1 + 2"}}};
  chat::ToolCall c2{"", "calculator", {{"expression", "3 * 4"}}};
  conv.messages.push_back({chat::Role::assistant, "two calls", {}, {c1, c2}, {}, {}});
  conv.messages.push_back({chat::Role::tool, "3", {}, {}, {}, "calculator"});
  conv.messages.push_back({chat::Role::tool, "12", {}, {}, {}, "calculator"});
  chat::RenderOptions ro;
  ro.add_generation_prompt = true;
  ro.enable_thinking = false;
  auto full = chat::render(chat::Family::chatml_qwen, conv, ro);
  ASSERT_TRUE(full.ok());
  auto suffix = tool_results_suffix(chat::Family::chatml_qwen, {"3", "12"}, false);
  ASSERT_TRUE(suffix.ok());
  const std::string tail = "<|im_end|>" + *suffix;
  ASSERT_GE(full->size(), tail.size());
  EXPECT_EQ(full->substr(full->size() - tail.size()), tail);
}

TEST(BestOf, AnswerExtractionAndMajorityVote) {
  const std::string re = R"(Answer:\s*(-?\d+))";
  EXPECT_EQ(extract_answer(re, "x\nAnswer: 20"), "20");
  EXPECT_EQ(extract_answer(re, "Answer: 1 then Answer: -5"), "-5");
  EXPECT_EQ(extract_answer(re, "no answer"), std::nullopt);
  EXPECT_EQ(extract_answer("Answer", "Answer"), "Answer");
  EXPECT_EQ(extract_answer("(", "x"), std::nullopt) << "a bad pattern is no answer";
  auto [i, v] = majority_vote({std::string("3"), std::nullopt, std::string("4"), std::string("4")});
  EXPECT_EQ(i, 2);
  EXPECT_EQ(v, 2);
  auto [j, w] = majority_vote({std::string("3"), std::string("4")});
  EXPECT_EQ(j, 0) << "ties go to the earlier sample";
  EXPECT_EQ(w, 1);
  EXPECT_EQ(majority_vote({std::nullopt}).first, -1);
}

SampleResult sample(bool finished, std::optional<std::string> answer, double mean_logprob = 0,
                    double score = 0) {
  SampleResult s;
  s.finished = finished;
  s.answer = std::move(answer);
  s.result.output = "out " + s.answer.value_or("-");
  s.result.mean_logprob = mean_logprob;
  s.score = score;
  return s;
}

TEST(BestOf, MajorityChoosesTheMostFrequentFinishedAnswer) {
  // "7" is the most frequent answer overall, but two of its samples did not finish.
  std::vector<SampleResult> s = {sample(true, "5"), sample(false, "7"),        sample(true, "7"),
                                 sample(true, "5"), sample(false, "7"),        sample(true, "9"),
                                 sample(true, "5"), sample(true, std::nullopt)};
  auto r = choose_sample(Aggregation::majority_vote, s);
  EXPECT_EQ(r.chosen, 0);
  EXPECT_EQ(r.answer, "5");
  EXPECT_EQ(r.output, "out 5");
  EXPECT_EQ(r.votes, 3);
  EXPECT_EQ(r.samples[2].score, 1);
  EXPECT_EQ(r.samples[3].score, 3);
  EXPECT_EQ(r.samples[1].score, 0) << "unfinished samples do not vote";
  // A later majority beats an earlier minority.
  r = choose_sample(Aggregation::majority_vote,
                    {sample(true, "1"), sample(true, "2"), sample(true, "2")});
  EXPECT_EQ(r.chosen, 1);
  EXPECT_EQ(r.votes, 2);
  r = choose_sample(Aggregation::majority_vote, {sample(false, "1"), sample(true, std::nullopt)});
  EXPECT_EQ(r.chosen, -1);
  EXPECT_EQ(r.answer, std::nullopt);
  EXPECT_EQ(r.votes, 0);
}

TEST(BestOf, LogprobChoosesTheHighestMeanAmongFinished) {
  std::vector<SampleResult> s = {sample(true, "1", -2.0), sample(false, "2", -0.1),
                                 sample(true, "3", -0.5), sample(true, "1", -0.5),
                                 sample(true, "4", -3.0)};
  auto r = choose_sample(Aggregation::max_mean_logprob, s);
  EXPECT_EQ(r.chosen, 2) << "-0.1 did not finish; -0.5 ties go to the earlier sample";
  EXPECT_EQ(r.answer, "3");
  EXPECT_EQ(r.votes, 1);
  EXPECT_DOUBLE_EQ(r.samples[2].score, -0.5);
}

TEST(BestOf, ScorerAndVerifierChooseTheBestScore) {
  for (auto agg : {Aggregation::scorer_tool, Aggregation::verifier_agent}) {
    std::vector<SampleResult> s = {sample(true, "1", 0, 0.2), sample(false, "2", 0, 9.0),
                                   sample(true, "3", 0, 0.7), sample(true, "3", 0, 0.7),
                                   sample(true, "4", 0, -1.0)};
    auto r = choose_sample(agg, s);
    EXPECT_EQ(r.chosen, 2);
    EXPECT_EQ(r.answer, "3");
    EXPECT_EQ(r.votes, 2) << "samples that gave the chosen answer";
  }
  // A failed scorer call scores -inf: any finished sample with a score beats it.
  auto r = choose_sample(
      Aggregation::scorer_tool,
      {sample(true, "1", 0, -std::numeric_limits<double>::infinity()), sample(true, "2", 0, 0.0)});
  EXPECT_EQ(r.chosen, 1);
}

}  // namespace
}  // namespace agentrt::actors
