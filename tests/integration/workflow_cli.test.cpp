// End-to-end tests of `agentrt validate` (and `agentrt run` when the runtime is built):
// exit codes, located messages, JSON output.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/integration/run_agentrt.h"

namespace {

using agentrt::testing::RunResult;

RunResult agentrt(const std::string& args) {
  return agentrt::testing::run_agentrt(args);
}

std::string example(const std::string& name) {
  return std::string(AGENTRT_SOURCE_DIR) + "/workflows/examples/" + name;
}

// Every workflows/examples/*.yaml, sorted: a new example is validated and run without being
// listed here.
std::vector<std::string> example_names() {
  std::vector<std::string> names;
  for (const auto& f :
       std::filesystem::directory_iterator(std::string(AGENTRT_SOURCE_DIR) + "/workflows/examples"))
    if (f.path().extension() == ".yaml") names.push_back(f.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::string write_temp(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / ("agentrt_wf_" + name);
  std::ofstream(path) << text;
  return path.string();
}

TEST(Validate, ExamplesAreValid) {
  const auto names = example_names();
  EXPECT_GE(names.size(), 8u);
  for (const auto& name : names) {
    auto r = agentrt("validate " + example(name));
    EXPECT_EQ(r.exit_code, 0) << name << "\n" << r.output;
    EXPECT_NE(r.output.find("valid workflow"), std::string::npos) << r.output;
  }
  auto team = agentrt("validate " + example("team_review.yaml"));
  EXPECT_NE(team.output.find("[review_a, review_b, review_c] -> [check]"), std::string::npos)
      << team.output;
}

TEST(Validate, ReportsEveryErrorWithItsPlaceAndExitsOne) {
  const auto path = write_temp("bad.yaml", R"(agents:
  solver: { sytem: hi }
steps:
  - id: a
    agent: solvr
    input: "{{ inputs.q }}"
)");
  auto r = agentrt("validate " + path);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find(path + ":2:13: unknown key 'sytem' in agents.solver"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find(path + ":5:12: step 'a': unknown agent 'solvr'"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find(path + ":6:13: step 'a' input: {{ inputs.q }} references undeclared"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("3 error(s)"), std::string::npos) << r.output;
}

TEST(Validate, JsonListsErrors) {
  const auto path =
      write_temp("bad2.yaml", "agents: {a: {}}\nsteps: [{id: s, agent: b, input: x}]\n");
  auto r = agentrt("validate --json " + path);
  EXPECT_EQ(r.exit_code, 1);
  auto j = nlohmann::json::parse(r.output);
  EXPECT_FALSE(j["valid"].get<bool>());
  ASSERT_EQ(j["errors"].size(), 1u);
  EXPECT_EQ(j["errors"][0]["line"], 2);
  EXPECT_EQ(j["errors"][0]["column"], 24);
}

TEST(Validate, InputsAreCheckedWhenGiven) {
  const auto path = write_temp("inputs.yaml", R"(agents: {a: {}}
inputs:
  q: { type: string }
  n: { type: int, default: 2 }
steps: [{id: s, agent: a, input: "{{ inputs.q }}"}]
)");
  EXPECT_EQ(agentrt("validate " + path).exit_code, 0);
  auto r = agentrt("validate " + path + " --input n=x");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find(path + ":3:3: input 'q' is required"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--input n: input 'n' is an int, got 'x'"), std::string::npos)
      << r.output;
  EXPECT_EQ(agentrt("validate " + path + " --input q=hello").exit_code, 0);
}

TEST(Validate, UsageErrorsExitTwo) {
  EXPECT_EQ(agentrt("validate").exit_code, 2);
  EXPECT_EQ(agentrt("validate /nonexistent/wf.yaml").exit_code, 2);
  EXPECT_EQ(agentrt("validate " + example("single_agent.yaml") + " --input novalue").exit_code, 2);
}

TEST(Run, SingleAgentPrintsOutputsAndPlainProgressLines) {
  auto r = agentrt("run " + example("single_agent.yaml"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("answer: 4\n"), std::string::npos) << r.output;
  // Not a terminal: timestamped lines instead of a live table.
  EXPECT_NE(r.output.find("] solve: started"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("] solve: call calculator"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("] solve: done:"), std::string::npos) << r.output;
}

TEST(Run, JsonHasOutputsStepsAndSamples) {
  auto r = agentrt("run " + example("best_of_majority.yaml") +
                   " --input n=3 --json --quiet 2>/dev/null");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto j = nlohmann::json::parse(r.output);
  EXPECT_TRUE(j["ok"].get<bool>());
  EXPECT_TRUE(j["outputs"].contains("answer"));
  ASSERT_EQ(j["steps"].size(), 1u);
  EXPECT_EQ(j["steps"][0]["state"], "done");
  EXPECT_EQ(j["steps"][0]["samples"].size(), 3u);
  EXPECT_GT(j["engines"][0]["hit_tokens"].get<int>(), 0);
}

// KV that outlives the process: a second `agentrt run` over the same --kv-store prefills
// only the tail its first turn's store lacks, and gives the same greedy outputs.
TEST(Run, KvStoreServesTheNextProcess) {
  const auto store = std::filesystem::temp_directory_path() / "agentrt_wf_kv_store";
  std::filesystem::remove_all(store);
  const std::string cmd = "run " + example("single_agent.yaml") + " --kv-store " + store.string() +
                          " --json --quiet 2>/dev/null";
  auto first = agentrt(cmd);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  auto second = agentrt(cmd);
  ASSERT_EQ(second.exit_code, 0) << second.output;
  auto a = nlohmann::json::parse(first.output);
  auto b = nlohmann::json::parse(second.output);
  EXPECT_EQ(a["outputs"], b["outputs"]);
  const auto pa = a["engines"][0]["prefilled_tokens"].get<std::int64_t>();
  const auto pb = b["engines"][0]["prefilled_tokens"].get<std::int64_t>();
  EXPECT_GT(pa, 200);     // the system prompt, question and tool result, computed
  EXPECT_LT(pb, pa / 4);  // only each turn's partial last block
  bool sst = false;
  for (const auto& f : std::filesystem::directory_iterator(store))
    sst = sst || f.path().extension() == ".sst";
  EXPECT_TRUE(sst);
  std::filesystem::remove_all(store);
}

TEST(Run, EveryExampleRuns) {
  for (const auto& name : example_names()) {
    auto ok = agentrt("run --quiet " + example(name) +
                      (name == "best_of_majority.yaml" ? " --input n=2" : ""));
    EXPECT_EQ(ok.exit_code, 0) << name << "\n" << ok.output;
  }
}

TEST(Run, InvalidWorkflowOrInputsExitOne) {
  const auto path =
      write_temp("run_bad.yaml", "agents: {a: {}}\nsteps: [{id: s, agent: b, input: x}]\n");
  auto r = agentrt("run " + path);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find(path + ":2:24: step 's': unknown agent 'b'"), std::string::npos)
      << r.output;
  const auto needs = write_temp("run_needs.yaml", R"(agents: {a: {}}
inputs: { q: { type: string } }
steps: [{id: s, agent: a, input: "{{ inputs.q }}"}]
)");
  auto m = agentrt("run " + needs);
  EXPECT_EQ(m.exit_code, 1);
  EXPECT_NE(m.output.find(needs + ":2:11: input 'q' is required"), std::string::npos) << m.output;
  auto bad_model = agentrt("run " + example("single_agent.yaml") + " --model /nonexistent/m");
  EXPECT_EQ(bad_model.exit_code, 1);
  EXPECT_NE(bad_model.output.find("/nonexistent/m"), std::string::npos) << bad_model.output;
}

TEST(Run, UsageErrorsExitTwo) {
  EXPECT_EQ(agentrt("run").exit_code, 2);
  EXPECT_EQ(agentrt("run /nonexistent/wf.yaml").exit_code, 2);
  EXPECT_EQ(agentrt("run " + example("single_agent.yaml") + " --input =x").exit_code, 2);
  auto order = agentrt("run " + example("single_agent.yaml") + " --schedule lifo");
  EXPECT_EQ(order.exit_code, 2);
  EXPECT_NE(order.output.find("--schedule"), std::string::npos) << order.output;
  for (const char* bad : {"--blend-anchor-tokens 8", "--blend-anchor-mib 0", "--blend-anchor-mib x",
                          "--blend-anchor-novelty -1"}) {
    auto r = agentrt("run " + example("single_agent.yaml") + " --blend-anchors " + bad);
    EXPECT_EQ(r.exit_code, 2) << bad;
    const std::string flag = std::string(bad).substr(0, std::string(bad).find(' '));
    EXPECT_NE(r.output.find(flag), std::string::npos) << bad << "\n" << r.output;
  }
  auto pool = agentrt("run " + example("single_agent.yaml") +
                      " --quiet --blend-anchors --blend-anchor-mib 64 --blend-anchor-tokens 4096"
                      " --blend-anchor-novelty 0.2");
  EXPECT_EQ(pool.exit_code, 0) << pool.output;
}

// Every queue order runs the workflow to the same greedy answer.
TEST(Run, EveryScheduleOrderGivesTheSameAnswer) {
  for (const char* order : {"fcfs", "program", "attained"}) {
    auto r = agentrt("run " + example("single_agent.yaml") + " --quiet --schedule " + order);
    EXPECT_EQ(r.exit_code, 0) << order << "\n" << r.output;
    EXPECT_NE(r.output.find("answer: 4\n"), std::string::npos) << order << "\n" << r.output;
  }
}

TEST(Run, CtrlCCancelsCleanly) {
  // SIGINT once a long best-of has made its first tool call: the run cancels its jobs and
  // exits 130.
  const auto log = write_temp("ctrl_c.log", "");
  auto r = agentrt("run " + example("best_of_majority.yaml") + " --input n=64 > " + log +
                   " 2>&1 & pid=$!; for i in $(seq 300); do grep -q 'call calculator' " + log +
                   " && break; sleep 0.1; done; kill -INT $pid; wait $pid; rc=$?; cat " + log +
                   "; exit $rc");
  EXPECT_EQ(r.exit_code, 130) << r.output;
  EXPECT_NE(r.output.find("agentrt run: cancelled"), std::string::npos) << r.output;
}

}  // namespace
