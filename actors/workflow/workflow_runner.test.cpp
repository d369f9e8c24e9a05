// The workflow runner on the real actor runtime and the embedded model (tiny-calc, CPU):
// every example runs; independent steps overlap in time; agents share one engine and its
// KV cache; cancel and step failures end the run cleanly.
#include "actors/workflow/workflow_runner.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "workflows/inputs.h"
#include "workflows/loader.h"

namespace agentrt::actors::workflow {
namespace {

using Clock = std::chrono::steady_clock;

std::string example(const std::string& name) {
  return std::string(AGENTRT_SOURCE_DIR) + "/workflows/examples/" + name;
}

RunnerOptions options() {
  RunnerOptions o;
  o.fallback_model_dir = std::string(AGENTRT_SOURCE_DIR) + "/models/tiny-calc";
  o.kv_blocks = 1024;
  return o;
}

struct Loaded {
  workflows::Workflow wf;
  workflows::InputValues inputs;
};

Loaded load(const std::string& path,
            const std::vector<std::pair<std::string, std::string>>& given = {}) {
  auto r = workflows::check_workflow_file(path);
  EXPECT_TRUE(r.ok()) << r.diagnostics.to_string();
  Loaded l{r.workflow, {}};
  l.inputs = workflows::resolve_inputs(l.wf, given, r.diagnostics);
  EXPECT_TRUE(r.diagnostics.empty()) << r.diagnostics.to_string();
  return l;
}

std::string output(const WorkflowOutcome& o, const std::string& name) {
  for (const auto& [n, v] : o.outputs)
    if (n == name) return v.to_text();
  return "<missing " + name + ">";
}

WorkflowOutcome run(const Loaded& l, EventFn events = {}) {
  auto runner = WorkflowRunner::create(l.wf, options());
  EXPECT_TRUE(runner.ok()) << (runner.ok() ? "" : runner.error().to_string());
  if (!runner.ok()) return {};
  return (*runner)->run(l.inputs, std::move(events));
}

TEST(WorkflowRunner, SingleAgentCallsTheCalculatorAndAnswers) {
  auto o = run(load(example("single_agent.yaml")));
  ASSERT_TRUE(o.status.ok()) << o.status.error().to_string();
  EXPECT_EQ(output(o, "answer"), "4");  // greedy; the problem's answer
  ASSERT_EQ(o.steps.size(), 1u);
  EXPECT_EQ(o.steps[0].status.state, StepState::done);
  EXPECT_GE(o.steps[0].status.tool_calls, 1);
  EXPECT_GT(o.steps[0].status.tokens, 0);
  ASSERT_EQ(o.metrics.size(), 1u);
  // The second turn reuses the first turn's KV (pinned across the tool call).
  EXPECT_GT(o.metrics[0].kv.hit_tokens[0], 0);
}

TEST(WorkflowRunner, BestOfMajorityRunsNSamplesAndVotes) {
  auto o = run(load(example("best_of_majority.yaml"), {{"n", "4"}}));
  ASSERT_TRUE(o.status.ok()) << o.status.error().to_string();
  ASSERT_EQ(o.steps[0].samples.size(), 4u);
  const std::string answer = output(o, "answer");
  int votes = 0;
  for (const auto& s : o.steps[0].samples)
    votes += s.answer && *s.answer == answer;
  EXPECT_GT(votes, 0) << answer;
  EXPECT_EQ(output(o, "confidence"), votes == 4   ? "1.00"
                                     : votes == 3 ? "0.75"
                                     : votes == 2 ? "0.50"
                                                  : "0.25");
  EXPECT_EQ(o.steps[0].status.samples_total, 4);
}

TEST(WorkflowRunner, TeamReviewersRunConcurrentlyOnOneEngine) {
  std::mutex mu;
  std::map<std::string, Clock::time_point> started, ended;
  auto o =
      run(load(example("team_review.yaml")), [&](const std::string& step, const std::string& line) {
        std::lock_guard lk(mu);
        if (line == "started") started[step] = Clock::now();
        if (line.rfind("done", 0) == 0) ended[step] = Clock::now();
      });
  ASSERT_TRUE(o.status.ok()) << o.status.error().to_string();
  ASSERT_EQ(started.size(), 4u);
  // Every reviewer started before any reviewer ended: they overlapped.
  for (const char* a : {"review_a", "review_b", "review_c"})
    for (const char* b : {"review_a", "review_b", "review_c"})
      EXPECT_LT(started[a], ended[b]) << a << " vs " << b;
  // The checker waited for all three (its input references them).
  for (const char* r : {"review_a", "review_b", "review_c"})
    EXPECT_LE(ended[r], started["check"]);
  EXPECT_EQ(output(o, "checked").empty(), false);
  // One engine for the four agents, and the shared system prompt + document were reused.
  ASSERT_EQ(o.metrics.size(), 1u);
  EXPECT_GT(o.metrics[0].kv.hit_tokens[0], 3 * 64);
}

TEST(WorkflowRunner, MapRunsOncePerItemInOrder) {
  auto o = run(load(example("map_questions.yaml")));
  ASSERT_TRUE(o.status.ok()) << o.status.error().to_string();
  ASSERT_TRUE(o.steps[0].output.is_list());
  EXPECT_EQ(o.steps[0].output.list().size(), 3u);
  EXPECT_EQ(o.steps[0].fields.at("answer").list().size(), 3u);
  EXPECT_EQ(o.steps[0].status.units_done, 3);
  // Greedy and order-preserving: the third item is single_agent's question (answer 4).
  EXPECT_EQ(o.steps[0].fields.at("answer").list()[2], "4");
}

TEST(WorkflowRunner, LoopStopsWhenTheConditionMatches) {
  auto o = run(load(example("loop_until_answer.yaml")));
  ASSERT_TRUE(o.status.ok()) << o.status.error().to_string();
  EXPECT_GE(o.steps[0].status.units_total, 1);
  EXPECT_LE(o.steps[0].status.units_total, 3);
  EXPECT_NE(o.steps[0].output.to_text().find("Answer:"), std::string::npos);
}

TEST(WorkflowRunner, CancelEndsTheRunPromptly) {
  auto l = load(example("best_of_majority.yaml"), {{"n", "32"}});
  auto runner = WorkflowRunner::create(l.wf, options());
  ASSERT_TRUE(runner.ok());
  std::promise<void> first_call;
  std::once_flag once;
  auto future = std::async(std::launch::async, [&] {
    return (*runner)->run(l.inputs, [&](const std::string&, const std::string& line) {
      if (line.find("call calculator") != std::string::npos)
        std::call_once(once, [&] { first_call.set_value(); });
    });
  });
  ASSERT_EQ(first_call.get_future().wait_for(std::chrono::seconds(60)), std::future_status::ready);
  const auto t0 = Clock::now();
  (*runner)->cancel();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(20)), std::future_status::ready);
  auto o = future.get();
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(5));
  ASSERT_FALSE(o.status.ok());
  EXPECT_EQ(o.status.error().code, ErrorCode::cancelled);
  EXPECT_EQ(o.steps[0].status.state, StepState::cancelled);
  EXPECT_TRUE(o.outputs.empty());
}

TEST(WorkflowRunner, AFailedStepSkipsItsDependents) {
  auto r = workflows::load_workflow(R"(tools: { calculator: { builtin: calculator } }
agents: { a: { tools: [calculator], sampling: { max_tokens: 16 } } }
inputs: { n: { type: int, default: 0 } }
steps:
  - { id: bad, agent: a, input: "1 + 1?", best_of: { n: "{{ inputs.n }}" } }
  - { id: later, agent: a, input: "{{ steps.bad.answer }}" }
  - { id: free, agent: a, input: "2 + 2?" }
)",
                                    "fail.yaml");
  ASSERT_TRUE(r.ok()) << r.diagnostics.to_string();
  Loaded l{r.workflow, {}};
  l.inputs = workflows::resolve_inputs(l.wf, {}, r.diagnostics);
  auto o = run(l);
  ASSERT_FALSE(o.status.ok());
  EXPECT_EQ(o.status.error().message,
            "step 'bad': best_of.n: expected an integer in [1, 1024], got '0'");
  EXPECT_EQ(o.steps[0].status.state, StepState::failed);
  EXPECT_EQ(o.steps[1].status.state, StepState::skipped);
  // 'free' was independent: it ran (or was cancelled when 'bad' failed), never skipped.
  EXPECT_NE(o.steps[2].status.state, StepState::skipped);
}

TEST(WorkflowRunner, UnknownModelDirectoryIsAnError) {
  auto l = load(example("single_agent.yaml"));
  RunnerOptions o = options();
  o.model_dir = "/nonexistent/model";
  auto runner = WorkflowRunner::create(l.wf, o);
  ASSERT_FALSE(runner.ok());
  EXPECT_NE(runner.error().message.find("/nonexistent/model"), std::string::npos)
      << runner.error().message;
}

TEST(WorkflowRunner, ModelDirectories) {
  workflows::Workflow wf;
  wf.file = "/a/b/wf.yaml";
  wf.models = {{"default", "", "cpu", 0, 0, 0, {}}, {"big", "models/big", "cpu", 0, 0, 0, {}}};
  RunnerOptions o;
  o.fallback_model_dir = "/embedded";
  EXPECT_EQ(resolve_model_dir(wf, wf.models[0], o), "/embedded");
  EXPECT_EQ(resolve_model_dir(wf, wf.models[1], o), "/a/b/models/big");
  o.model_dir = "/cli";
  EXPECT_EQ(resolve_model_dir(wf, wf.models[0], o), "/cli");
  EXPECT_EQ(resolve_model_dir(wf, wf.models[1], o), "/a/b/models/big");
}

}  // namespace
}  // namespace agentrt::actors::workflow
