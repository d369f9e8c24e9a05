// Step control flow on the real runtime and tiny-calc: the when_branch example takes the
// branch its first answer picks and skips the other; a skipped step skips its dependents
// unless they have a `when`; a step timeout cancels the unit (its KV is released) and fails
// the step; a retry after a timeout succeeds. Custom tools that block until released stand
// in for slow work, so no test waits on the model's speed to time out.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "actors/workflow/workflow_runner.h"
#include "workflows/inputs.h"
#include "workflows/loader.h"

namespace agentrt::actors::workflow {
namespace {

using Clock = std::chrono::steady_clock;

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

Loaded load_file(const std::string& path,
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

const StepResult& step(const WorkflowOutcome& o, const std::string& id) {
  for (const auto& s : o.steps)
    if (s.status.id == id) return s;
  static const StepResult none;
  ADD_FAILURE() << "no step " << id;
  return none;
}

// Runs with every event recorded.
struct Run {
  WorkflowOutcome outcome;
  std::vector<RunEvent> events;
  double seconds = 0;
};

Run run(const Loaded& l, RuntimePool& pool, std::function<void(const RunEvent&)> also = {}) {
  Run out;
  auto runner = WorkflowRunner::create(l.wf, options(), pool);
  EXPECT_TRUE(runner.ok()) << (runner.ok() ? "" : runner.error().to_string());
  if (!runner.ok()) return out;
  std::mutex mu;
  RunHooks hooks;
  hooks.event = [&](const RunEvent& e) {
    {
      std::lock_guard lk(mu);
      out.events.push_back(e);
    }
    if (also) also(e);
  };
  std::promise<WorkflowOutcome> done;
  const auto t0 = Clock::now();
  EXPECT_TRUE((*runner)
                  ->start(l.inputs, std::move(hooks), {},
                          [&](WorkflowOutcome o) { done.set_value(std::move(o)); })
                  .ok());
  auto f = done.get_future();
  if (f.wait_for(std::chrono::seconds(120)) != std::future_status::ready) {
    ADD_FAILURE() << "the run did not end";
    return out;
  }
  out.outcome = f.get();
  out.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return out;
}

const RunEvent* finished(const Run& r, const std::string& id) {
  for (const auto& e : r.events)
    if (e.kind == RunEvent::Kind::step_finished && e.step == id) return &e;
  return nullptr;
}

int started(const Run& r, const std::string& id) {
  int n = 0;
  for (const auto& e : r.events)
    n += e.kind == RunEvent::Kind::step_started && e.step == id;
  return n;
}

TEST(StepControl, WhenBranchExampleRunsTheBranchItsAnswerPicks) {
  const std::string path = std::string(AGENTRT_SOURCE_DIR) + "/workflows/examples/when_branch.yaml";
  RuntimePool pool{RuntimeOptions{}};
  // 13 + 7 = 20 > 10: `many` runs (20 - 5), `few` is skipped.
  auto big = run(load_file(path), pool);
  ASSERT_TRUE(big.outcome.status.ok()) << big.outcome.status.error().to_string();
  EXPECT_EQ(output(big.outcome, "first"), "20");
  EXPECT_EQ(step(big.outcome, "many").status.state, StepState::done);
  EXPECT_EQ(step(big.outcome, "few").status.state, StepState::skipped);
  EXPECT_EQ(step(big.outcome, "few").status.reason,
            "when: steps.count.answer <= inputs.limit is false");
  EXPECT_EQ(output(big.outcome, "branch"), "15");
  EXPECT_EQ(started(big, "few"), 0);
  const RunEvent* skipped = finished(big, "few");
  ASSERT_NE(skipped, nullptr);
  EXPECT_EQ(skipped->data["state"], "skipped");
  EXPECT_EQ(skipped->line, "skipped: when: steps.count.answer <= inputs.limit is false");
  // limit=100: the other branch (2 * 20).
  auto small = run(load_file(path, {{"limit", "100"}}), pool);
  ASSERT_TRUE(small.outcome.status.ok()) << small.outcome.status.error().to_string();
  EXPECT_EQ(step(small.outcome, "many").status.state, StepState::skipped);
  EXPECT_EQ(step(small.outcome, "few").status.state, StepState::done);
  EXPECT_EQ(output(small.outcome, "branch"), "40");
  EXPECT_EQ(started(small, "many"), 0);
}

// A skipped step skips the steps that depend on it, unless they have a `when` of their
// own: that step runs and reads the skipped step's output as empty text.
TEST(StepControl, ASkippedStepSkipsItsDependentsUnlessTheyHaveAWhen) {
  auto r = workflows::load_workflow(R"(agents: { a: { sampling: { max_tokens: 2 }, max_turns: 1 } }
inputs: { go: { type: bool, default: "false" } }
steps:
  - { id: maybe, agent: a, input: "Say hi", when: inputs.go }
  - { id: next, agent: a, input: "Repeat {{ steps.maybe.output }}" }
  - { id: later, agent: a, input: "Again {{ steps.next.output }}" }
  - { id: join, agent: a, input: "Got [{{ steps.maybe.output }}]", when: not inputs.go }
  - { id: free, agent: a, input: "Say yes" }
outputs: { maybe: "[{{ steps.maybe.output }}]", join: "{{ steps.join.output }}" }
)",
                                    "skip.yaml");
  ASSERT_TRUE(r.ok()) << r.diagnostics.to_string();
  Loaded l{r.workflow, workflows::resolve_inputs(r.workflow, {}, r.diagnostics)};
  RuntimePool pool{RuntimeOptions{}};
  auto x = run(l, pool);
  ASSERT_TRUE(x.outcome.status.ok()) << x.outcome.status.error().to_string();
  EXPECT_EQ(step(x.outcome, "maybe").status.state, StepState::skipped);
  EXPECT_EQ(step(x.outcome, "next").status.state, StepState::skipped);
  EXPECT_EQ(step(x.outcome, "next").status.reason, "step 'maybe' was skipped");
  EXPECT_EQ(step(x.outcome, "later").status.state, StepState::skipped);
  EXPECT_EQ(step(x.outcome, "later").status.reason, "step 'next' was skipped");
  EXPECT_EQ(step(x.outcome, "join").status.state, StepState::done);
  EXPECT_EQ(step(x.outcome, "free").status.state, StepState::done);
  EXPECT_EQ(output(x.outcome, "maybe"), "[]");
  ASSERT_EQ(step(x.outcome, "join").samples.size(), 1u);
  EXPECT_NE(step(x.outcome, "join").samples[0].messages.find("Got []"), std::string::npos);
  for (const char* id : {"maybe", "next", "later"}) {
    EXPECT_EQ(started(x, id), 0) << id;
    ASSERT_NE(finished(x, id), nullptr) << id;
  }
  // go=true: everything but the join runs.
  Loaded go{r.workflow, workflows::resolve_inputs(r.workflow, {{"go", "true"}}, r.diagnostics)};
  auto y = run(go, pool);
  ASSERT_TRUE(y.outcome.status.ok()) << y.outcome.status.error().to_string();
  for (const char* id : {"maybe", "next", "later", "free"})
    EXPECT_EQ(step(y.outcome, id).status.state, StepState::done) << id;
  EXPECT_EQ(step(y.outcome, "join").status.state, StepState::skipped);
}

TEST(StepControl, AConditionThatCannotBeDecidedFailsTheStep) {
  auto r = workflows::load_workflow(R"(agents: { a: { sampling: { max_tokens: 2 }, max_turns: 1 } }
inputs: { n: { default: "many" } }
steps:
  - { id: s, agent: a, input: "Say hi", when: inputs.n > 3 }
)",
                                    "undecided.yaml");
  ASSERT_TRUE(r.ok()) << r.diagnostics.to_string();
  Loaded l{r.workflow, workflows::resolve_inputs(r.workflow, {}, r.diagnostics)};
  RuntimePool pool{RuntimeOptions{}};
  auto x = run(l, pool);
  ASSERT_FALSE(x.outcome.status.ok());
  EXPECT_EQ(x.outcome.status.error().message,
            "step 's': when: '>' compares numbers: 'many' is not a number");
  EXPECT_EQ(step(x.outcome, "s").status.state, StepState::failed);
}

// A directory with a workflow whose `calculator` is a custom command: its first call
// blocks until the file `release` appears (at most 60 s), later calls answer at once.
struct SlowTool {
  std::filesystem::path dir;
  explicit SlowTool(const std::string& name, const std::string& step_keys) {
    dir = std::filesystem::temp_directory_path() /
          ("agentrt-step-" + name + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "tool.py") << R"py(import json, os, sys, time
json.load(sys.stdin)
first = not os.path.exists("called")
open("called", "a").close()
t0 = time.time()
while first and not os.path.exists("release") and time.time() - t0 < 60:
    time.sleep(0.02)
print("20")
)py";
    std::ofstream(dir / "wf.yaml") << R"yaml(tools:
  calculator:
    command: [python3, tool.py]
    description: Evaluate an integer arithmetic expression with + - * / and parentheses. Division must be exact.
    schema:
      type: object
      properties: { expression: { type: string, description: "The expression, e.g. 12 * (3 + 4)" } }
      required: [expression]
    timeout: 90s
agents:
  a:
    system: "You solve arithmetic word problems. Use the calculator tool for every operation, then give the final line as 'Answer: N'."
    tools: [calculator]
    sampling: { temperature: 0, max_tokens: 160 }
    max_turns: 3
steps:
  - id: s
    agent: a
    input: "Sam has 13 stamps. Kate has 7 more stamps than Sam. How many stamps does Kate have?"
)yaml" + step_keys;
  }
  void release() const { std::ofstream(dir / "release") << "go"; }
  ~SlowTool() {
    release();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the tool sees it
    std::filesystem::remove_all(dir);
  }
};

bool wait_for(const std::function<bool()>& ok) {
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (!ok()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

TEST(StepControl, ATimeoutCancelsTheUnitReleasesItsKvAndFailsTheStep) {
  SlowTool tool("timeout", "    timeout: 1500ms\n");
  RuntimePool pool{RuntimeOptions{}};
  auto x = run(load_file((tool.dir / "wf.yaml").string()), pool);
  tool.release();  // the runtime waits for the stuck call when it stops
  ASSERT_FALSE(x.outcome.status.ok());
  EXPECT_EQ(x.outcome.status.error().code, ErrorCode::timeout);
  EXPECT_EQ(x.outcome.status.error().message,
            "step 's': timed out after 1.5s (the step's timeout)");
  EXPECT_EQ(step(x.outcome, "s").status.state, StepState::failed);
  EXPECT_EQ(step(x.outcome, "s").status.attempts, 1);
  EXPECT_GE(x.seconds, 1.4);
  EXPECT_LT(x.seconds, 30.0) << "the blocked tool call was not cut short";
  // The agent's turn was paused for the tool call with its KV pinned: the cancel released it.
  ASSERT_EQ(pool.all().size(), 1u);
  Runtime* rt = pool.all()[0];
  EXPECT_TRUE(wait_for([&] {
    const auto m = rt->metrics();
    return m.kv.pinned_blocks == 0 && m.paused_requests == 0 && m.active_requests == 0;
  })) << "pinned "
      << rt->metrics().kv.pinned_blocks;
}

TEST(StepControl, ARetryAfterATimeoutSucceeds) {
  // The first attempt hangs for the whole timeout; the second must finish inside it, under
  // the sanitizers too (prefill, a tool call through python3, the answer).
  SlowTool tool("retry", "    timeout: 8s\n    retries: 2\n    backoff: 10ms\n");
  RuntimePool pool{RuntimeOptions{}};
  auto x = run(load_file((tool.dir / "wf.yaml").string()), pool, [&](const RunEvent& e) {
    if (e.kind == RunEvent::Kind::unit_retry) tool.release();  // the stuck call may end now
  });
  ASSERT_TRUE(x.outcome.status.ok()) << x.outcome.status.error().to_string();
  const auto& s = step(x.outcome, "s");
  EXPECT_EQ(s.status.state, StepState::done);
  EXPECT_EQ(s.status.attempts, 2);
  EXPECT_NE(s.output.to_text().find("Answer: 20"), std::string::npos) << s.output.to_text();
  int retries = 0;
  for (const auto& e : x.events)
    if (e.kind == RunEvent::Kind::unit_retry) {
      ++retries;
      EXPECT_EQ(e.data["failed"], 1);
      EXPECT_EQ(e.data["attempt"], 2);
      EXPECT_EQ(e.data["attempts"], 3);
      EXPECT_EQ(e.data["error"], "timed out after 8s (the step's timeout)");
      EXPECT_EQ(e.line,
                "attempt 1/3 failed (timed out after 8s (the step's timeout)); "
                "retrying in 10ms");
    }
  EXPECT_EQ(retries, 1);
  const RunEvent* end = finished(x, "s");
  ASSERT_NE(end, nullptr);
  EXPECT_EQ(end->data["attempts"], 2);
  EXPECT_NE(end->line.find(", 2 attempts"), std::string::npos) << end->line;
}

// Retries that all fail: the error says how many attempts were made.
TEST(StepControl, RetriesThatAllFailNameTheAttempts) {
  auto r = workflows::load_workflow(R"(agents: { a: { sampling: { max_tokens: 2 }, max_turns: 1 } }
inputs: { n: { type: int, default: 0 } }
steps:
  - { id: bad, agent: a, input: "1 + 1?", best_of: { n: "{{ inputs.n }}" }, retries: 2, backoff: 1ms }
)",
                                    "retry_fail.yaml");
  ASSERT_TRUE(r.ok()) << r.diagnostics.to_string();
  Loaded l{r.workflow, workflows::resolve_inputs(r.workflow, {}, r.diagnostics)};
  RuntimePool pool{RuntimeOptions{}};
  auto x = run(l, pool);
  ASSERT_FALSE(x.outcome.status.ok());
  EXPECT_EQ(x.outcome.status.error().message,
            "step 'bad': after 3 attempts: best_of.n: expected an integer in [1, 1024], got '0'");
  EXPECT_EQ(step(x.outcome, "bad").status.attempts, 3);
  int retries = 0;
  for (const auto& e : x.events)
    retries += e.kind == RunEvent::Kind::unit_retry;
  EXPECT_EQ(retries, 2);
}

// A cancel while a retry waits for its backoff (an hour here) ends the run at once.
TEST(StepControl, ACancelEndsARetryWait) {
  auto r = workflows::load_workflow(R"(agents: { a: { sampling: { max_tokens: 2 }, max_turns: 1 } }
inputs: { n: { type: int, default: 0 } }
steps:
  - { id: bad, agent: a, input: "1 + 1?", best_of: { n: "{{ inputs.n }}" }, retries: 1, backoff: 1h }
  - { id: after, agent: a, input: "{{ steps.bad.output }}" }
)",
                                    "retry_cancel.yaml");
  ASSERT_TRUE(r.ok()) << r.diagnostics.to_string();
  Loaded l{r.workflow, workflows::resolve_inputs(r.workflow, {}, r.diagnostics)};
  RuntimePool pool{RuntimeOptions{}};
  auto runner = WorkflowRunner::create(l.wf, options(), pool);
  ASSERT_TRUE(runner.ok()) << runner.error().to_string();
  WorkflowRunner* w = runner->get();
  RunHooks hooks;
  std::atomic<int> retries{0};
  hooks.event = [&](const RunEvent& e) {
    if (e.kind == RunEvent::Kind::unit_retry && retries.fetch_add(1) == 0) w->cancel();
  };
  std::promise<WorkflowOutcome> done;
  const auto t0 = Clock::now();
  ASSERT_TRUE(w->start(l.inputs, std::move(hooks), {}, [&](WorkflowOutcome o) {
                 done.set_value(std::move(o));
               }).ok());
  auto f = done.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  const auto o = f.get();
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 10.0);
  EXPECT_EQ(retries.load(), 1);
  ASSERT_FALSE(o.status.ok());
  EXPECT_EQ(o.status.error().code, ErrorCode::cancelled);
  EXPECT_EQ(step(o, "bad").status.state, StepState::cancelled);
  EXPECT_EQ(step(o, "after").status.state, StepState::cancelled);
}

}  // namespace
}  // namespace agentrt::actors::workflow
