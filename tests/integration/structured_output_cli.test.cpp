// `agentrt run --json` on a workflow with output_schema: typed fields, a JSON array feeding a
// map, and every tool call recorded per sample (name, arguments, result, duration).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "tests/integration/run_agentrt.h"

namespace {

TEST(RunStructured, SchemaMapJsonHasTypedFieldsAndToolRecords) {
  const std::string wf = std::string(AGENTRT_SOURCE_DIR) + "/workflows/examples/schema_map.yaml";
  auto r = agentrt::testing::run_agentrt("run " + wf + " --json --quiet 2>/dev/null");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.output;
  ASSERT_EQ(j["steps"].size(), 2u) << r.output;
  const auto& plan = j["steps"][0];
  ASSERT_TRUE(plan["fields"]["questions"].is_array()) << plan.dump();
  EXPECT_EQ(plan["fields"]["questions"].size(), 2u);
  EXPECT_TRUE(nlohmann::json::parse(plan["output"].get<std::string>()).is_object());
  const auto& solve = j["steps"][1];
  ASSERT_EQ(solve["fields"]["answer"].size(), 2u) << solve.dump();
  int records = 0;
  for (const auto& s : solve["samples"]) {
    ASSERT_TRUE(s["tool_records"].is_array()) << s.dump();
    EXPECT_EQ(s["tool_records"].size(), s["tool_calls"].get<std::size_t>());
    for (const auto& rec : s["tool_records"]) {
      ++records;
      EXPECT_EQ(rec["name"], "calculator");
      EXPECT_TRUE(rec["arguments"].is_object()) << rec.dump();
      EXPECT_EQ(rec["ok"], true) << rec.dump();
      EXPECT_TRUE(rec["result"].is_string());
      EXPECT_GE(rec["duration_ms"].get<double>(), 0.0);
      EXPECT_GE(rec["turn"].get<int>(), 1);
    }
  }
  EXPECT_GE(records, 1) << solve.dump();
}

}  // namespace
