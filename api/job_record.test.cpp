#include "api/job_record.h"

#include <gtest/gtest.h>

namespace agentrt::api {
namespace {

TEST(JobRecord, RoundTripsThroughJson) {
  JobRecord r;
  r.id = "j-1";
  r.state = JobState::running;
  r.client = "key-1";
  r.workflow_name = "single_agent";
  r.yaml = "name: x\n";
  r.inputs = {{"question", "2+2?"}};
  r.request_hash = "abc";
  r.outputs = {{"answer", "4"}};
  r.steps = {StepView{"solve", "done", 12, 1, 40, 0.5, 1, 1, ""}};
  r.steps[0].tool_records = nlohmann::json::array({{{"name", "calculator"}, {"ok", true}}});
  r.steps[0].tool_records_dropped = 3;
  r.steps[0].attempts = 2;
  r.steps[0].reason = "when: x is false";
  r.created_ms = 5;
  r.updated_ms = 6;
  r.resumes = 2;
  r.kv_reuse = "blend";
  r.blend_recompute = 0.05;
  r.blend_anchors = true;
  r.program = "user-42";
  auto back = job_record_from_json(to_json(r));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(to_json(*back), to_json(r));
  EXPECT_EQ(back->kv_reuse, "blend");
  EXPECT_EQ(back->blend_recompute, 0.05);
  EXPECT_EQ(back->blend_anchors, true);
  EXPECT_EQ(back->program, "user-42");
  EXPECT_EQ(public_view(r)["program"], "user-42");
  EXPECT_FALSE(public_view(r).contains("yaml"));
}

TEST(JobRecord, DamagedDocumentsNameTheMember) {
  JobRecord r;
  r.id = "j-2";
  r.steps = {StepView{"a", "waiting", 0, 0, 0, 0.0, 0, 0, ""}};
  auto j = to_json(r);
  j["state"] = "exploded";
  auto bad = job_record_from_json(j);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("/state"), std::string::npos);
  j = to_json(r);
  j["steps"][0]["tokens"] = "many";
  bad = job_record_from_json(j);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("/steps/0/tokens"), std::string::npos) << bad.error().message;
  j = to_json(r);
  j.erase("inputs");
  EXPECT_FALSE(job_record_from_json(j).ok());
  EXPECT_FALSE(job_record_from_json(nlohmann::json::array()).ok());
}

}  // namespace
}  // namespace agentrt::api
