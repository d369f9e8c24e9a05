// MCP over stdio against the real npm servers of tests/mcp (server-everything,
// server-filesystem) and a misbehaving fake (tests/mcp/fake_mcp_server.py): listing,
// calls, pagination, and a server that crashes, hangs or writes bad JSON mid-call.
#include <gtest/gtest.h>

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "actors/mcp/mcp_tool.h"
#include "actors/tool_registry.h"

namespace agentrt::actors::mcp {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

const fs::path kMcpDir = fs::path(AGENTRT_SOURCE_DIR) / "tests" / "mcp";

// The server's binary from tests/mcp/node_modules/.bin; fails the test (not a skip) when
// `npm ci` has not been run there.
std::string npm_bin(const std::string& name) {
  const fs::path p = kMcpDir / "node_modules" / ".bin" / name;
  if (!fs::exists(p))
    ADD_FAILURE() << p << " is missing: run `npm ci` in " << kMcpDir
                  << " (scripts/test.sh does it before building)";
  return p.string();
}

std::shared_ptr<Tool> find(const ServerTools& s, const std::string& name) {
  for (const auto& t : s.tools)
    if (t->spec().name == name) return t;
  return nullptr;
}

ServerOptions fake(std::chrono::milliseconds call_timeout = 5000ms) {
  ServerOptions o;
  o.name = "fake";
  o.argv = {"python3", (kMcpDir / "fake_mcp_server.py").string()};
  o.call_timeout = call_timeout;
  return o;
}

TEST(McpEverything, ListsToolsAndCallsEchoAndAdd) {
  ServerOptions o;
  o.name = "everything";
  o.argv = {npm_bin("mcp-server-everything"), "stdio"};
  auto s = start_server(o);
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  EXPECT_EQ(s->client->server_info().value("name", ""), "mcp-servers/everything");
  auto echo = find(*s, "everything_echo");
  auto sum = find(*s, "everything_get-sum");
  ASSERT_TRUE(echo && sum);
  EXPECT_EQ(echo->spec().parameters["required"][0], "message");
  // Every tool registers: its schema's extra keywords ($schema, annotations) are accepted.
  ToolRegistry reg;
  for (const auto& t : s->tools)
    ASSERT_TRUE(reg.add(t).ok()) << t->spec().name;
  auto args = reg.check_call({"", "everything_echo", {{"message", "hi"}}});
  ASSERT_TRUE(args.ok()) << args.error().to_string();
  auto r = echo->invoke(*args);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(*r, "Echo: hi");
  r = sum->invoke({{"a", 2}, {"b", 40}});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_NE(r->find("42"), std::string::npos) << *r;
  EXPECT_FALSE(reg.check_call({"", "everything_get-sum", {{"a", "two"}, {"b", 1}}}).ok());
}

TEST(McpFilesystem, ReadsFilesAndListsADirectory) {
  const fs::path dir = fs::temp_directory_path() / "agentrt_mcp_fs_test";
  fs::remove_all(dir);
  fs::create_directories(dir / "data" / "sub");
  std::ofstream(dir / "data" / "notes.txt") << "the answer is 42\n";
  ServerOptions o;
  o.name = "files";
  o.argv = {npm_bin("mcp-server-filesystem"), "./data"};
  o.cwd = dir.string();  // relative arguments are the workflow directory's
  auto s = start_server(o);
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  auto read = find(*s, "files_read_text_file");
  auto list = find(*s, "files_list_directory");
  ASSERT_TRUE(read && list);
  auto r = read->invoke({{"path", (dir / "data" / "notes.txt").string()}});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(*r, "the answer is 42\n");
  r = list->invoke({{"path", (dir / "data").string()}});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_NE(r->find("[FILE] notes.txt"), std::string::npos) << *r;
  EXPECT_NE(r->find("[DIR] sub"), std::string::npos) << *r;
  // Outside the allowed directory: the server's error reaches the model as an error.
  r = read->invoke({{"path", "/etc/hostname"}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("ccess denied"), std::string::npos) << r.error().message;
  s = Result<ServerTools>(make_error(ErrorCode::cancelled, "done"));  // stops the server
  fs::remove_all(dir);
}

TEST(McpFake, PaginatesAndSummarizesNonTextContent) {
  auto s = start_server(fake());
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  ASSERT_EQ(s->tools.size(), 6u) << "both pages of tools/list";
  auto r = find(*s, "fake_ok")->invoke({{"x", "1"}});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(*r, R"(got {"x": "1"})");
  r = find(*s, "fake_pic")->invoke(Json::object());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "a picture:\n[image image/png, 4 bytes of base64]");
  r = find(*s, "fake_fail")->invoke(Json::object());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "got {}");
}

TEST(McpFake, OnlyTheListedToolsAreOffered) {
  ServerOptions o = fake();
  o.tools = {"pic", "ok"};
  auto s = start_server(o);
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  ASSERT_EQ(s->tools.size(), 2u);
  EXPECT_EQ(s->tools[0]->spec().name, "fake_ok");  // in the server's order
  EXPECT_EQ(s->tools[1]->spec().name, "fake_pic");
  o.tools = {"ok", "nope"};
  s = start_server(o);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(
      s.error().message,
      "MCP server 'fake' has no tool 'nope' (its tools: ok, fail, crash, hang, garbage, pic)");
}

TEST(McpFake, AHungCallTimesOutAloneAndTheServerStaysUsable) {
  // The timeout holds for the start's requests too: room for python3 on a loaded machine.
  auto s = start_server(fake(1500ms));
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  auto r = find(*s, "fake_hang")->invoke(Json::object());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::timeout);
  EXPECT_EQ(r.error().message, "MCP server 'fake': tools/call 'hang': no answer in 1500 ms");
  r = find(*s, "fake_ok")->invoke(Json::object());
  EXPECT_TRUE(r.ok()) << r.error().to_string();
}

TEST(McpFake, BadJsonFailsTheWaitingCallClearly) {
  auto s = start_server(fake());
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  auto r = find(*s, "fake_garbage")->invoke(Json::object());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "MCP server 'fake': tools/call 'garbage': the server sent invalid JSON: this is not "
            "json");
  EXPECT_TRUE(find(*s, "fake_ok")->invoke(Json::object()).ok());
}

TEST(McpFake, AServerThatExitsMidCallFailsThatCallAndLaterOnes) {
  auto s = start_server(fake());
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  const auto t0 = std::chrono::steady_clock::now();
  auto r = find(*s, "fake_crash")->invoke(Json::object());
  ASSERT_FALSE(r.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s) << "not a timeout";
  EXPECT_EQ(r.error().message,
            "MCP server 'fake': tools/call 'crash': the server exited with status 3 (stderr: "
            "boom: crashing on purpose)");
  r = find(*s, "fake_ok")->invoke(Json::object());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("exited with status 3"), std::string::npos);
}

TEST(McpFake, AKilledServerAndOneThatCannotStart) {
  auto s = start_server(fake());
  ASSERT_TRUE(s.ok());
  ::kill(s->client->pid(), SIGKILL);
  auto r = find(*s, "fake_ok")->invoke(Json::object());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "MCP server 'fake': tools/call 'ok': the server was killed by signal 9");
  ServerOptions missing;
  missing.name = "nope";
  missing.argv = {"/no/such/mcp-server"};
  auto m = start_server(missing);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().message,
            "MCP server 'nope': cannot run '/no/such/mcp-server': No such file or directory");
  ServerOptions exits;
  exits.name = "quits";
  exits.argv = {"sh", "-c", "echo not today >&2; exit 1"};
  m = start_server(exits);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().message,
            "MCP server 'quits': initialize: the server exited with status 1 (stderr: not today)");
}

TEST(McpMessage, ParsesResponsesAndNamesTools) {
  auto m = parse_message(R"({"jsonrpc":"2.0","id":7,"error":{"code":-32602,"message":"bad"}})");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(*m->id, 7);
  EXPECT_EQ(m->error->message, "bad (code -32602)");
  EXPECT_FALSE(parse_message(R"({"id":1,"result":{}})").ok()) << "no jsonrpc";
  EXPECT_FALSE(parse_message(R"({"jsonrpc":"2.0","id":"x","result":{}})").ok());
  EXPECT_FALSE(parse_message(R"([1])").ok());
  EXPECT_EQ(parse_message(R"({"jsonrpc":"2.0","method":"notifications/x"})")->kind,
            Message::Kind::notification);
  EXPECT_EQ(exposed_name("files", "read_file"), "files_read_file");
  EXPECT_EQ(exposed_name("s", "a.b/c d"), "s_a_b_c_d");
  EXPECT_EQ(exposed_name("s", std::string(100, 'x')).size(), 64u);
  auto text =
      render_call_result(Json::parse(R"({"content":[{"type":"text","text":"abcdef"}]})"), 3);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "abc\n[output cut at 3 bytes]");
  // Fields of the wrong JSON type are summarized, never thrown on (found by the fuzzer).
  auto odd = render_call_result(
      Json::parse(R"({"content":[{"text":"a"},{"type":{"uri":1}},{"type":"image","mimeType":3}],
                      "isError":"yes"})"),
      100);
  ASSERT_TRUE(odd.ok());
  EXPECT_EQ(*odd, "[? content]\n[? content]\n[image ?, 0 bytes of base64]");
}

}  // namespace
}  // namespace agentrt::actors::mcp
