#include "api/body/job_request.h"

#include <gtest/gtest.h>

#include "api/body/api_limits.h"

namespace agentrt::api {
namespace {

TEST(JobRequest, InlineYamlWithInputsOfEveryType) {
  auto r = parse_job_request(
      R"({"yaml": "name: x", "inputs": {"q": "hi", "n": 3, "t": 0.5, "b": true, "l": ["a", "b"]}})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->yaml, "name: x");
  EXPECT_TRUE(r->workflow.empty());
  std::map<std::string, std::string> in(r->inputs.begin(), r->inputs.end());
  EXPECT_EQ(in.at("q"), "hi");
  EXPECT_EQ(in.at("n"), "3");
  EXPECT_EQ(in.at("t"), "0.5");
  EXPECT_EQ(in.at("b"), "true");
  EXPECT_EQ(in.at("l"), R"(["a","b"])");
}

TEST(JobRequest, NamedWorkflow) {
  auto r = parse_job_request(R"({"workflow": "single_agent"})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->workflow, "single_agent");
}

TEST(JobRequest, ErrorsPointAtTheMember) {
  struct Case {
    const char* body;
    int status;
    const char* pointer;
  };
  const Case cases[] = {
      {"not json", 400, ""},
      {R"({"inputs": {"a~/b": 1e400}})", 400, ""},  // out of range: found by fuzz_job_request
      {"[1]", 400, ""},
      {R"({"yaml": 3})", 422, "/yaml"},
      {R"({"yaml": ""})", 422, "/yaml"},
      {R"({"workflow": "../etc/passwd"})", 422, "/workflow"},
      {R"({"workflow": ".hidden"})", 422, "/workflow"},
      {R"({"workflow": "a/b"})", 422, "/workflow"},
      {R"({"yaml": "x", "workflow": "y"})", 422, ""},
      {R"({"inputs": {}})", 422, ""},
      {R"({"yaml": "x", "inputs": []})", 422, "/inputs"},
      {R"({"yaml": "x", "inputs": {"a/b": {"x": 1}}})", 422, "/inputs/a~1b"},
      {R"({"yaml": "x", "inputs": {"l": ["a", 2]}})", 422, "/inputs/l/1"},
      {R"({"yaml": "x", "inputs": {"n": null}})", 422, "/inputs/n"},
      {R"({"yaml": "x", "extra": 1})", 422, "/extra"},
      {R"({"yaml": "x", "kv_reuse": "partial"})", 422, "/kv_reuse"},
      {R"({"yaml": "x", "kv_reuse": 1})", 422, "/kv_reuse"},
      {R"({"yaml": "x", "kv_reuse": "blend", "blend_recompute": 1.5})", 422, "/blend_recompute"},
      {R"({"yaml": "x", "kv_reuse": "blend", "blend_recompute": "a"})", 422, "/blend_recompute"},
      {R"({"yaml": "x", "blend_recompute": 0.1})", 422, "/blend_recompute"},
      {R"({"yaml": "x", "kv_reuse": "blend", "blend_anchors": 1})", 422, "/blend_anchors"},
      {R"({"yaml": "x", "kv_reuse": "exact", "blend_anchors": true})", 422, "/blend_anchors"},
  };
  for (const auto& c : cases) {
    auto r = parse_job_request(c.body);
    ASSERT_FALSE(r.ok()) << c.body;
    EXPECT_EQ(r.error().status, c.status) << c.body;
    EXPECT_EQ(r.error().pointer, c.pointer) << c.body;
    EXPECT_FALSE(r.error().message.empty());
  }
}

TEST(JobRequest, KvReuseOverride) {
  auto r = parse_job_request(R"({"workflow": "w", "kv_reuse": "blend", "blend_recompute": 0.05})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->kv_reuse, "blend");
  EXPECT_EQ(r->blend_recompute, 0.05);
  EXPECT_FALSE(r->blend_anchors.has_value());
  auto anchored =
      parse_job_request(R"({"workflow": "w", "kv_reuse": "blend", "blend_anchors": false})");
  ASSERT_TRUE(anchored.ok()) << anchored.error().message;
  EXPECT_EQ(anchored->blend_anchors, false);
  auto plain = parse_job_request(R"({"workflow": "w"})");
  ASSERT_TRUE(plain.ok());
  EXPECT_TRUE(plain->kv_reuse.empty());
  EXPECT_FALSE(plain->blend_recompute.has_value());
}

TEST(JobRequest, ProgramNamesTheJobsAgentProgram) {
  auto r = parse_job_request(R"({"workflow": "w", "program": "user-42/chat"})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->program, "user-42/chat");
  for (const char* bad :
       {R"({"workflow": "w", "program": ""})", R"({"workflow": "w", "program": 7})",
        R"({"workflow": "w", "program": "a\nb"})"}) {
    auto e = parse_job_request(bad);
    ASSERT_FALSE(e.ok()) << bad;
    EXPECT_EQ(e.error().pointer, "/program") << bad;
  }
  auto e = parse_job_request(R"({"workflow": "w", "program": ")" +
                             std::string(kMaxProgramBytes + 1, 'p') + R"("})");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().pointer, "/program");
}

TEST(JobRequest, DeepNestingIsRefusedBeforeParsing) {
  std::string body = R"({"yaml": "x", "inputs": {"a": )" + std::string(100000, '[') + "]}}";
  auto r = parse_job_request(body);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().status, 400);
  EXPECT_EQ(r.error().pointer.substr(0, 9), "/inputs/a");
}

TEST(JobRequest, CapsOnYamlAndInputs) {
  std::string big = R"({"yaml": ")" + std::string(kMaxYamlBytes + 1, 'a') + R"("})";
  auto r = parse_job_request(big);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().status, 413);
  std::string many = R"({"yaml": "x", "inputs": {)";
  for (std::size_t i = 0; i <= kMaxJobInputs; ++i)
    many += (i ? "," : "") + ("\"i" + std::to_string(i) + "\": \"v\"");
  many += "}}";
  auto m = parse_job_request(many);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().pointer, "/inputs");
}

TEST(JobRequest, ErrorBodyShape) {
  auto r = parse_job_request(R"({"yaml": 1})");
  ASSERT_FALSE(r.ok());
  const auto j = to_json(r.error());
  EXPECT_EQ(j["error"]["code"], "invalid_request");
  EXPECT_EQ(j["error"]["pointer"], "/yaml");
  EXPECT_TRUE(j["error"]["message"].is_string());
}

}  // namespace
}  // namespace agentrt::api
