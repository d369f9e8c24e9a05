// The workflow runner on the real actor runtime and the embedded model (tiny-calc, CPU):
// every example runs; independent steps overlap in time; agents share one engine and its
// KV cache; cancel and step failures end the run cleanly.
#include "actors/workflow/workflow_runner.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
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
  RuntimePool pool{RuntimeOptions{}};
  auto runner = WorkflowRunner::create(l.wf, options(), pool);
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

// Cancel ends the run: no waiting on the wall clock, only on the run's own end (a hang
// guard aside). The samples that had not ended were stopped, not run to the end.
TEST(WorkflowRunner, CancelEndsTheRun) {
  auto l = load(example("best_of_majority.yaml"), {{"n", "32"}});
  RuntimePool pool{RuntimeOptions{}};
  auto runner = WorkflowRunner::create(l.wf, options(), pool);
  ASSERT_TRUE(runner.ok());
  std::promise<void> first_call;
  std::once_flag once;
  auto future = std::async(std::launch::async, [&] {
    return (*runner)->run(l.inputs, [&](const std::string&, const std::string& line) {
      if (line.find("call calculator") != std::string::npos)
        std::call_once(once, [&] { first_call.set_value(); });
    });
  });
  ASSERT_EQ(first_call.get_future().wait_for(std::chrono::seconds(120)), std::future_status::ready);
  (*runner)->cancel();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(120)), std::future_status::ready);
  auto o = future.get();
  ASSERT_FALSE(o.status.ok());
  EXPECT_EQ(o.status.error().code, ErrorCode::cancelled);
  EXPECT_EQ(o.steps[0].status.state, StepState::cancelled);
  EXPECT_TRUE(o.outputs.empty());
  EXPECT_LT(o.steps[0].samples.size(), 32u) << "cancelled samples are not listed as ended";
}

// A cancelled run keeps what had ended: the sample whose end triggered the cancel is in
// the cancelled best-of step's samples, so --json can list it.
TEST(WorkflowRunner, ACancelledBestOfKeepsItsEndedSamples) {
  auto l = load(example("best_of_majority.yaml"), {{"n", "12"}});
  RuntimePool pool{RuntimeOptions{}};
  auto runner = WorkflowRunner::create(l.wf, options(), pool);
  ASSERT_TRUE(runner.ok());
  std::atomic<int> trigger{-1};
  auto o = (*runner)->run(l.inputs, [&](const std::string&, const std::string& line) {
    // "sample 3: finished (1/12)": cancel right there, before the sampler hears of it.
    const auto at = line.find(": finished (");
    if (line.rfind("sample ", 0) != 0 || at == std::string::npos) return;
    int expected = -1;
    if (trigger.compare_exchange_strong(expected, std::stoi(line.substr(7, at - 7))))
      (*runner)->cancel();
  });
  ASSERT_FALSE(o.status.ok());
  EXPECT_EQ(o.status.error().code, ErrorCode::cancelled);
  ASSERT_GE(trigger.load(), 0);
  EXPECT_EQ(o.steps[0].status.state, StepState::cancelled);
  bool kept = false;
  for (const auto& s : o.steps[0].samples) {
    EXPECT_GE(s.sample, 0);
    EXPECT_GT(s.tokens, 0);
    kept = kept || s.sample == trigger.load();
  }
  EXPECT_TRUE(kept) << "sample " << trigger.load() << " ended before the cancel but is not listed";
}

int thread_count() {
  int n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/task"))
    ++n;
  return n;
}

// The documented default (concurrency: all) over 1,100 items: threads stay under the
// runner's caps (not one per item), and with only 8 live engine requests the items wait
// for the engine instead of failing as overloaded.
TEST(WorkflowRunner, MapOverElevenHundredItemsWithDefaultConcurrency) {
  auto r = workflows::load_workflow(R"(agents: { a: { sampling: { max_tokens: 2 }, max_turns: 1 } }
inputs: { items: { type: list } }
steps:
  - { id: each, agent: a, input: "Repeat {{ item }}", map: { over: "{{ inputs.items }}" } }
)",
                                    "map1100.yaml");
  ASSERT_TRUE(r.ok()) << r.diagnostics.to_string();
  std::string items = "[";
  for (int i = 0; i < 1100; ++i)
    items += (i ? ", \"" : "\"") + std::to_string(i) + "\"";
  items += "]";
  Loaded l{r.workflow, {}};
  l.inputs = workflows::resolve_inputs(l.wf, {{"items", items}}, r.diagnostics);
  ASSERT_TRUE(r.diagnostics.empty()) << r.diagnostics.to_string();
  RunnerOptions opt = options();
  opt.threads = 2;
  opt.max_live_requests = 8;
  RuntimePool pool{RuntimeOptions{}};
  auto runner = WorkflowRunner::create(l.wf, opt, pool);
  ASSERT_TRUE(runner.ok()) << runner.error().to_string();
  const int before = thread_count();
  std::atomic<int> most{0};
  auto o = (*runner)->run(l.inputs, [&](const std::string&, const std::string&) {
    const int n = thread_count();
    for (int m = most.load(); n > m && !most.compare_exchange_weak(m, n);) {
    }
  });
  ASSERT_TRUE(o.status.ok()) << o.status.error().to_string();
  ASSERT_TRUE(o.steps[0].output.is_list());
  EXPECT_EQ(o.steps[0].output.list().size(), 1100u);
  EXPECT_EQ(o.steps[0].status.units_done, 1100);
  // Step and unit threads, plus a few tool and CAF threads of slack.
  EXPECT_LE(most.load(), before + kMaxStepThreads + kMaxUnitThreads + 16);
  ASSERT_EQ(o.metrics.size(), 1u);
  EXPECT_EQ(o.metrics[0].rejected_requests, 0);
}

// best_of.n's documented maximum runs: 1,024 samples and their probe exceed the runner's
// 1,024 live requests, so samples wait for slots.
TEST(WorkflowRunner, BestOfWithTheMaximumN) {
  auto r = workflows::load_workflow(
      R"(agents: { a: { sampling: { max_tokens: 1, temperature: 0.8, seed: 1 }, max_turns: 1 } }
steps:
  - { id: many, agent: a, input: "2 + 2?", best_of: { n: 1024 } }
)",
      "best_of_1024.yaml");
  ASSERT_TRUE(r.ok()) << r.diagnostics.to_string();
  Loaded l{r.workflow, {}};
  l.inputs = workflows::resolve_inputs(l.wf, {}, r.diagnostics);
  RunnerOptions opt = options();
  opt.threads = 2;
  RuntimePool pool{RuntimeOptions{}};
  auto runner = WorkflowRunner::create(l.wf, opt, pool);
  ASSERT_TRUE(runner.ok()) << runner.error().to_string();
  auto o = (*runner)->run(l.inputs);
  ASSERT_TRUE(o.status.ok()) << o.status.error().to_string();
  ASSERT_EQ(o.steps[0].samples.size(), 1024u);
  for (const auto& s : o.steps[0].samples) {
    EXPECT_TRUE(s.error.empty()) << s.error;
    EXPECT_EQ(s.tokens, 1);
  }
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
  RuntimePool pool{RuntimeOptions{}};
  auto runner = WorkflowRunner::create(l.wf, o, pool);
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
