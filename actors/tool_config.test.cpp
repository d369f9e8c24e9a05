// Custom tools (JSON on stdin, result on stdout), per-tool limits (retries with backoff,
// concurrency), registries over a parent, and schemas with keywords outside the subset.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "actors/json_schema.h"
#include "actors/tool.h"
#include "actors/tool_registry.h"

namespace agentrt::actors {
namespace {

using namespace std::chrono_literals;

ToolConfig custom(std::vector<std::string> argv) {
  ToolConfig c;
  c.name = "mine";
  c.builtin = BuiltinTool::custom;
  c.custom.argv = std::move(argv);
  c.custom.schema = Json::parse(R"({"type": "object", "properties": {"n": {"type": "integer"}},
                                    "required": ["n"]})");
  return c;
}

TEST(CustomTool, GetsItsArgumentsAsJsonOnStdinInItsDirectory) {
  const auto dir = std::filesystem::temp_directory_path() / "agentrt_custom_tool_test";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "tool.py") << "import json, sys\nargs = json.load(sys.stdin)\n"
                                    "print(args['n'] * 2)\n";
  ToolConfig c = custom({"python3", "tool.py"});
  c.cwd = dir.string();
  auto tool = make_builtin_tool(c);
  ASSERT_TRUE(tool.ok()) << tool.error().to_string();
  ToolRegistry reg;
  ASSERT_TRUE(reg.add(*tool).ok());
  auto args = reg.check_call({"", "mine", {{"n", 21}}});
  ASSERT_TRUE(args.ok());
  auto r = (*tool)->invoke(*args);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(*r, "42\n");
  // The registry checks the schema before any call.
  auto bad = reg.check_call({"", "mine", {{"n", "x"}}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "tool 'mine': arguments: /n: expected integer, got string");
  std::filesystem::remove_all(dir);
}

TEST(CustomTool, FailuresAndBadConfigs) {
  auto fail = make_builtin_tool(custom({"sh", "-c", "cat >/dev/null; echo bad input >&2; exit 2"}));
  ASSERT_TRUE(fail.ok());
  auto r = (*fail)->invoke({{"n", 1}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "command exited with status 2: bad input\n");
  ToolConfig slow = custom({"sleep", "5"});
  slow.timeout = 200ms;
  auto s = make_builtin_tool(slow);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->spec().timeout, 1200ms);
  r = (*s)->invoke({{"n", 1}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::timeout);
  EXPECT_FALSE(make_builtin_tool(custom({})).ok());
  ToolConfig not_object = custom({"true"});
  not_object.custom.schema = {{"type", "string"}};
  auto e = make_builtin_tool(not_object);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().message, "custom tool 'mine': schema must be an object schema");
  ToolConfig bad_schema = custom({"true"});
  bad_schema.custom.schema["properties"]["n"]["type"] = "int";
  e = make_builtin_tool(bad_schema);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().message,
            "custom tool 'mine': schema: /properties/n/type: unknown type \"int\"");
}

// A tool that fails `failures` times with `code`, then answers; counts calls in flight.
class Flaky final : public Tool {
 public:
  Flaky(int failures, ErrorCode code, std::chrono::milliseconds work = 0ms)
      : failures_(failures), code_(code), work_(work) {
    spec_.name = "flaky";
    spec_.parameters = {{"type", "object"}};
    spec_.timeout = 1000ms;
  }
  const ToolSpec& spec() const override { return spec_; }
  Result<std::string> invoke(const Json&) override {
    const int now = ++running;
    int seen = peak.load();
    while (now > seen && !peak.compare_exchange_weak(seen, now)) {
    }
    std::this_thread::sleep_for(work_);
    --running;
    if (calls++ < failures_) return make_error(code_, "attempt failed");
    return std::string("ok");
  }
  std::atomic<int> calls{0}, running{0}, peak{0};

 private:
  ToolSpec spec_;
  int failures_;
  ErrorCode code_;
  std::chrono::milliseconds work_;
};

TEST(ToolLimits, RetriesTransientFailuresWithBackoff) {
  auto flaky = std::make_shared<Flaky>(2, ErrorCode::io);
  auto tool = make_limited_tool(flaky, {3, 20ms, 0});
  // 4 attempts of 1 s and backoffs of 20, 40, 80 ms.
  EXPECT_EQ(tool->spec().timeout, 4140ms);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = tool->invoke({});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(flaky->calls.load(), 3);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 60ms);  // 20 + 40

  auto always = std::make_shared<Flaky>(100, ErrorCode::timeout);
  r = make_limited_tool(always, {2, 1ms, 0})->invoke({});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "after 3 attempts: attempt failed");
  EXPECT_EQ(always->calls.load(), 3);

  auto bad_args = std::make_shared<Flaky>(100, ErrorCode::invalid_argument);
  r = make_limited_tool(bad_args, {5, 1ms, 0})->invoke({});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(bad_args->calls.load(), 1) << "an error of the call itself is not retried";
}

TEST(ToolLimits, ConcurrencyLimitHoldsCallsBack) {
  auto slow = std::make_shared<Flaky>(0, ErrorCode::io, 50ms);
  auto tool = make_limited_tool(slow, {0, 1ms, 2});
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 6; ++i)
    threads.emplace_back([&] { ok += tool->invoke({}).ok(); });
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(ok.load(), 6);
  EXPECT_EQ(slow->peak.load(), 2);
}

TEST(ToolLimits, MakeBuiltinToolAppliesThem) {
  ToolConfig c = custom({"sh", "-c", "exit 1"});
  c.limits = {1, 1ms, 0};
  auto t = make_builtin_tool(c);
  ASSERT_TRUE(t.ok());
  auto r = (*t)->invoke({{"n", 1}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "after 2 attempts: command exited with status 1");
}

TEST(ToolRegistry, ARegistryOverAParentFindsBothAndHidesTheParents) {
  auto base = std::make_shared<ToolRegistry>();
  ASSERT_TRUE(base->add(*make_builtin_tool(ToolConfig{})).ok());
  auto job = std::make_shared<ToolRegistry>(base);
  ASSERT_TRUE(job->add(*make_builtin_tool(custom({"true"}))).ok());
  EXPECT_TRUE(job->find("calculator"));
  EXPECT_TRUE(job->find("mine"));
  EXPECT_FALSE(base->find("mine"));
  ToolConfig own_calc;
  own_calc.timeout = 3s;
  ASSERT_TRUE(job->add(*make_builtin_tool(own_calc)).ok()) << "may hide the parent's";
  EXPECT_EQ(job->find("calculator")->spec().timeout, 3s);
  EXPECT_EQ(base->find("calculator")->spec().timeout, 1s);
  auto defs = job->definitions({"nope"});
  ASSERT_FALSE(defs.ok());
  EXPECT_EQ(defs.error().message, "unknown tool 'nope' (registered: calculator, calculator, mine)");
}

// MCP servers' inputSchemas carry $schema, defaults, anyOf, tuples...: accepted, the subset
// still checked.
TEST(JsonSchema, KeywordsOutsideTheSubsetAreIgnoredNotRefused) {
  const Json schema = Json::parse(R"({
    "$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "title": "t",
    "properties": {
      "path": {"type": "string", "description": "p", "default": "."},
      "mode": {"anyOf": [{"const": "a"}, {"const": "b"}]},
      "pair": {"type": "array", "items": [{"type": "string"}, {"type": "integer"}]},
      "n": {"type": "number", "exclusiveMinimum": 0, "format": "float"}},
    "required": ["path"], "additionalProperties": false})");
  ASSERT_TRUE(check_schema(schema).ok()) << check_schema(schema).error().to_string();
  EXPECT_TRUE(validate_json(schema, Json::parse(R"({"path": "a", "mode": "zzz",
      "pair": ["x", 2, "extra"], "n": 1})"))
                  .ok());
  auto bad = validate_json(schema, Json::parse(R"({"path": "a", "pair": [1, 2]})"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "/pair/0: expected string, got integer");
  EXPECT_FALSE(validate_json(schema, Json::parse(R"({"path": 1})")).ok());
}

}  // namespace
}  // namespace agentrt::actors
