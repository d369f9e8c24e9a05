// A job's tools: configured tools and MCP servers in a registry over the runtime's, agent
// tool lists expanded, servers stopped with the job.
#include "actors/mcp/job_tools.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace agentrt::actors::mcp {
namespace {

using namespace std::chrono_literals;

ServerOptions fake_server(const std::string& name) {
  ServerOptions o;
  o.name = name;
  o.argv = {"python3", std::string(AGENTRT_SOURCE_DIR) + "/tests/mcp/fake_mcp_server.py"};
  return o;
}

TEST(JobTools, ConfiguredToolsAndServersOverTheRuntimes) {
  auto runtime = std::make_shared<ToolRegistry>();
  ASSERT_TRUE(runtime->add(*make_builtin_tool(ToolConfig{})).ok());
  ToolConfig custom;
  custom.name = "double";
  custom.builtin = BuiltinTool::custom;
  custom.custom.argv = {"python3", "-c", "import json,sys; print(json.load(sys.stdin)['n'] * 2)"};
  custom.custom.schema = {{"type", "object"}};
  JobToolDecl c{custom, std::nullopt, {}};
  JobToolDecl s{std::nullopt, fake_server("fake"), ToolLimits{1, 1ms, 0}};
  auto jt = JobTools::start(runtime, {c, s});
  ASSERT_TRUE(jt.ok()) << jt.error().to_string();
  const auto& reg = *(*jt)->registry();
  EXPECT_TRUE(reg.find("calculator"));
  EXPECT_FALSE(runtime->find("double")) << "the job's tools stay the job's";
  auto r = reg.find("double")->invoke({{"n", 21}});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(*r, "42\n");
  EXPECT_EQ((*jt)->expand({"calculator", "fake"}),
            (std::vector<std::string>{"calculator", "fake_ok", "fake_fail", "fake_crash",
                                      "fake_hang", "fake_garbage", "fake_pic"}));
  auto ok = reg.find("fake_ok");
  ASSERT_TRUE(ok);
  EXPECT_TRUE(ok->invoke(Json::object()).ok());
  auto defs = reg.definitions((*jt)->expand({"fake"}));
  ASSERT_TRUE(defs.ok());
  EXPECT_EQ(defs->size(), 6u);
  // The job ends: its server stops even while a tool is still referenced.
  jt = Result<std::unique_ptr<JobTools>>(make_error(ErrorCode::cancelled, "job over"));
  auto after = ok->invoke(Json::object());
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.error().message, "MCP server 'fake': tools/call 'ok': the server was stopped");
}

TEST(JobTools, AFailingServerFailsTheJobsStartNamingIt) {
  ServerOptions bad = fake_server("broken");
  bad.argv = {"/no/such/server"};
  auto jt = JobTools::start(nullptr, {JobToolDecl{std::nullopt, fake_server("fine"), {}},
                                      JobToolDecl{std::nullopt, bad, {}}});
  ASSERT_FALSE(jt.ok());
  EXPECT_EQ(jt.error().message,
            "MCP server 'broken': cannot run '/no/such/server': No such file or directory");
  ToolConfig no_argv;
  no_argv.name = "x";
  no_argv.builtin = BuiltinTool::command;
  jt = JobTools::start(nullptr, {JobToolDecl{no_argv, std::nullopt, {}}});
  ASSERT_FALSE(jt.ok());
  EXPECT_EQ(jt.error().message, "tool 'x': command tool 'x': argv is not configured");
}

}  // namespace
}  // namespace agentrt::actors::mcp
