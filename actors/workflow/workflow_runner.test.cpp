// The workflow runner on the real actor runtime and the embedded model (tiny-calc, CPU):
// every example runs; independent steps overlap in time; agents share one engine and its
// KV cache; cancel and step failures end the run cleanly.
#include "actors/workflow/workflow_runner.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "actors/workflow/checkpoint.h"
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

// The documented default (concurrency: all) over 1,100 items: the runner starts no
// thread (units advance from completion callbacks, at most kMaxRunUnits at once), and with only 8
// live engine requests the items wait for the engine instead of failing as overloaded.
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
  // No thread per step or item: a few tool and CAF threads of slack.
  EXPECT_LE(most.load(), before + 16);
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

// --- start(), hooks, resume ---

Loaded load_text(const std::string& yaml, const std::string& name,
                 const std::vector<std::pair<std::string, std::string>>& given = {}) {
  auto r = workflows::load_workflow(yaml, name);
  EXPECT_TRUE(r.ok()) << r.diagnostics.to_string();
  Loaded l{r.workflow, {}};
  l.inputs = workflows::resolve_inputs(l.wf, given, r.diagnostics);
  EXPECT_TRUE(r.diagnostics.empty()) << r.diagnostics.to_string();
  return l;
}

// What one start() reported, in order, and its outcome (once `done` has run).
struct Recorder {
  std::mutex mu;
  std::vector<std::string> log;  // "started first", "unit 0 2", "step 1", "done", ...
  std::vector<RunEvent> events;
  std::map<int, nlohmann::json> steps;                  // step_done checkpoints
  std::map<std::pair<int, int>, nlohmann::json> units;  // unit_done checkpoints
  std::atomic<int> done_calls{0};
  std::promise<WorkflowOutcome> outcome;

  void note(const std::string& s) {
    std::lock_guard lk(mu);
    log.push_back(s);
  }
  RunHooks hooks() {
    RunHooks h;
    h.event = [this](const RunEvent& e) {
      std::lock_guard lk(mu);
      events.push_back(e);
      if (e.kind == RunEvent::Kind::step_started) log.push_back("started " + e.step);
    };
    h.step_done = [this](int step, const StepResult& r) {
      std::lock_guard lk(mu);
      steps[step] = to_json(r);
      log.push_back("step " + std::to_string(step));
    };
    h.unit_done = [this](int step, int unit, const UnitOutcome& u) {
      std::lock_guard lk(mu);
      units[{step, unit}] = to_json(u);
      log.push_back("unit " + std::to_string(step) + " " + std::to_string(unit));
    };
    return h;
  }
  std::function<void(WorkflowOutcome)> done() {
    return [this](WorkflowOutcome o) {
      note("done");
      if (done_calls.fetch_add(1) == 0) outcome.set_value(std::move(o));
    };
  }
  std::size_t at(const std::string& entry) {
    std::lock_guard lk(mu);
    for (std::size_t i = 0; i < log.size(); ++i)
      if (log[i] == entry) return i;
    return log.size();
  }
  int count_prefix(const std::string& prefix) {
    std::lock_guard lk(mu);
    int n = 0;
    for (const auto& l : log)
      n += l.rfind(prefix, 0) == 0;
    return n;
  }
};

WorkflowOutcome wait_outcome(Recorder& rec) {
  auto f = rec.outcome.get_future();
  if (f.wait_for(std::chrono::seconds(300)) != std::future_status::ready) {  // hang guard
    ADD_FAILURE() << "done was not called";
    return {};
  }
  return f.get();
}

const char* kTwoSteps = R"(agents: { a: { sampling: { max_tokens: 3 }, max_turns: 1 } }
steps:
  - { id: first, agent: a, input: "Say hi" }
  - { id: second, agent: a, input: "Repeat {{ steps.first.output }}" }
outputs: { both: "{{ steps.first.output }}|{{ steps.second.output }}" }
)";

// The first user message of a sample's conversation.
std::string user_message(const SampleSummary& s) {
  for (const auto& m : nlohmann::json::parse(s.messages))
    if (m["role"] == "user") return m["content"].get<std::string>();
  return "<no user message>";
}

TEST(WorkflowRunner, StartReturnsAndHooksComeBeforeTheStepCountsAsDone) {
  auto l = load_text(R"(agents: { a: { sampling: { max_tokens: 2 }, max_turns: 1 } }
inputs: { items: { type: list, default: ["x", "y", "z"] } }
steps:
  - { id: each, agent: a, input: "Repeat {{ item }}", map: { over: "{{ inputs.items }}", concurrency: 2 } }
  - { id: after, agent: a, input: "Sum {{ steps.each.output }}" }
)",
                     "hooks.yaml");
  RuntimePool pool{RuntimeOptions{}};
  auto runner = WorkflowRunner::create(l.wf, options(), pool);
  ASSERT_TRUE(runner.ok()) << runner.error().to_string();
  Recorder rec;
  RunHooks hooks = rec.hooks();
  std::atomic<int> not_yet_done{0};
  auto* r = runner->get();
  // Inside a hook the step (or unit) has not counted as done yet.
  hooks.step_done = [&, inner = hooks.step_done](int step, const StepResult& res) {
    if (r->snapshot()[static_cast<std::size_t>(step)].state == StepState::running) ++not_yet_done;
    inner(step, res);
  };
  hooks.unit_done = [&, inner = hooks.unit_done](int step, int unit, const UnitOutcome& u) {
    if (r->snapshot()[0].units_done < 3) ++not_yet_done;
    inner(step, unit, u);
  };
  ASSERT_TRUE(r->start(l.inputs, std::move(hooks), {}, rec.done()).ok());
  auto o = wait_outcome(rec);
  ASSERT_TRUE(o.status.ok()) << o.status.error().to_string();
  EXPECT_EQ(rec.done_calls.load(), 1);
  EXPECT_EQ(not_yet_done.load(), 5);  // 3 units, 2 steps
  for (int u = 0; u < 3; ++u)
    EXPECT_LT(rec.at("unit 0 " + std::to_string(u)), rec.at("step 0"));
  EXPECT_LT(rec.at("step 0"), rec.at("started after"));
  EXPECT_LT(rec.at("step 1"), rec.at("done"));
  EXPECT_EQ(rec.steps.size(), 2u);
  EXPECT_EQ(rec.units.size(), 3u);
  // A runner runs once.
  auto again = r->start(l.inputs, {}, {}, [](WorkflowOutcome) {});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(rec.done_calls.load(), 1);
}

TEST(WorkflowRunner, EventsAreStructured) {
  auto l = load(example("single_agent.yaml"));
  RuntimePool pool{RuntimeOptions{}};
  auto runner = WorkflowRunner::create(l.wf, options(), pool);
  ASSERT_TRUE(runner.ok());
  Recorder rec;
  ASSERT_TRUE((*runner)->start(l.inputs, rec.hooks(), {}, rec.done()).ok());
  auto o = wait_outcome(rec);
  ASSERT_TRUE(o.status.ok()) << o.status.error().to_string();
  std::map<RunEvent::Kind, int> kinds;
  for (const auto& e : rec.events) {
    ++kinds[e.kind];
    EXPECT_EQ(e.step, "solve") << to_string(e.kind);
    if (e.kind == RunEvent::Kind::tool_call) {
      EXPECT_EQ(e.data["name"], "calculator");
      EXPECT_TRUE(e.data["arguments"].is_object()) << e.data.dump();
      EXPECT_EQ(e.line.rfind("call calculator ", 0), 0u) << e.line;
    }
    if (e.kind == RunEvent::Kind::tool_result) {
      EXPECT_TRUE(e.data["result"].is_string());
    }
    if (e.kind == RunEvent::Kind::step_finished) {
      EXPECT_EQ(e.data["state"], "done");
      EXPECT_GT(e.data["tokens"].get<int>(), 0);
      EXPECT_GE(e.data["tool_calls"].get<int>(), 1);
      EXPECT_EQ(e.line.rfind("done: ", 0), 0u) << e.line;
    }
  }
  EXPECT_EQ(kinds[RunEvent::Kind::step_started], 1);
  EXPECT_EQ(kinds[RunEvent::Kind::step_finished], 1);
  EXPECT_GE(kinds[RunEvent::Kind::tool_call], 1);
  EXPECT_EQ(kinds[RunEvent::Kind::tool_call], kinds[RunEvent::Kind::tool_result]);
}

TEST(WorkflowRunner, BestOfSamplesFinishAsEvents) {
  auto l = load(example("best_of_majority.yaml"), {{"n", "3"}});
  RuntimePool pool{RuntimeOptions{}};
  auto runner = WorkflowRunner::create(l.wf, options(), pool);
  ASSERT_TRUE(runner.ok());
  Recorder rec;
  ASSERT_TRUE((*runner)->start(l.inputs, rec.hooks(), {}, rec.done()).ok());
  auto o = wait_outcome(rec);
  ASSERT_TRUE(o.status.ok()) << o.status.error().to_string();
  std::set<int> samples;
  for (const auto& e : rec.events)
    if (e.kind == RunEvent::Kind::sample_finished) {
      samples.insert(e.sample);
      EXPECT_GT(e.data["tokens"].get<int>(), 0);
      EXPECT_TRUE(e.data.contains("answer"));
    }
  EXPECT_EQ(samples, (std::set<int>{0, 1, 2}));
}

// A resumed run takes finished steps from their checkpoints: they do not run again (no
// step_started, no step_done), and their results feed their dependents and the outputs.
TEST(WorkflowRunner, ResumeSkipsFinishedSteps) {
  auto l = load_text(kTwoSteps, "two.yaml");
  RuntimePool pool{RuntimeOptions{}};
  Recorder first;
  {
    auto runner = WorkflowRunner::create(l.wf, options(), pool);
    ASSERT_TRUE(runner.ok());
    ASSERT_TRUE((*runner)->start(l.inputs, first.hooks(), {}, first.done()).ok());
    ASSERT_TRUE(wait_outcome(first).status.ok());
  }
  ASSERT_EQ(first.steps.count(0), 1u);
  auto restored = step_result_from_json(nlohmann::json::parse(first.steps[0].dump()));
  ASSERT_TRUE(restored.ok()) << restored.error().to_string();
  restored->output = workflows::Value("RESTORED");  // shows where the dependent's input came from
  ResumeState resume;
  resume.steps[0] = *restored;

  auto runner = WorkflowRunner::create(l.wf, options(), pool);
  ASSERT_TRUE(runner.ok());
  const auto prefilled_before = pool.all()[0]->metrics().engine.prefilled_tokens;
  Recorder rec;
  ASSERT_TRUE((*runner)->start(l.inputs, rec.hooks(), resume, rec.done()).ok());
  auto o = wait_outcome(rec);
  ASSERT_TRUE(o.status.ok()) << o.status.error().to_string();
  EXPECT_EQ(rec.count_prefix("started first"), 0);
  EXPECT_EQ(rec.count_prefix("step 0"), 0);
  EXPECT_EQ(rec.count_prefix("step 1"), 1);
  EXPECT_EQ(o.steps[0].status.state, StepState::done);
  EXPECT_EQ(o.steps[0].output.text(), "RESTORED");
  EXPECT_EQ(o.steps[0].samples.size(), first.steps[0]["samples"].size());
  ASSERT_EQ(o.steps[1].samples.size(), 1u);
  EXPECT_NE(user_message(o.steps[1].samples[0]).find("Repeat RESTORED"), std::string::npos);
  EXPECT_EQ(o.outputs[0].second.to_text().rfind("RESTORED|", 0), 0u);
  // Only the second step's prompt was prefilled (one agent, a few dozen tokens).
  const auto prefilled = pool.all()[0]->metrics().engine.prefilled_tokens - prefilled_before;
  EXPECT_GT(prefilled, 0);
  EXPECT_LT(prefilled, 64);
}

TEST(WorkflowRunner, MapResumeSkipsFinishedItems) {
  auto l = load_text(R"(agents: { a: { sampling: { max_tokens: 2 }, max_turns: 1 } }
inputs: { items: { type: list, default: ["x", "y", "z"] } }
steps:
  - { id: each, agent: a, input: "Repeat {{ item }}", map: { over: "{{ inputs.items }}" } }
)",
                     "map_resume.yaml");
  RuntimePool pool{RuntimeOptions{}};
  ResumeState resume;
  for (int u : {0, 2}) {
    UnitOutcome done;
    done.output = "OUT" + std::to_string(u);
    SampleSummary s;
    s.finished = true;
    s.unit = u;
    s.messages = "[]";
    done.samples.push_back(s);
    resume.units[{0, u}] = done;
  }
  auto runner = WorkflowRunner::create(l.wf, options(), pool);
  ASSERT_TRUE(runner.ok());
  Recorder rec;
  ASSERT_TRUE((*runner)->start(l.inputs, rec.hooks(), resume, rec.done()).ok());
  auto o = wait_outcome(rec);
  ASSERT_TRUE(o.status.ok()) << o.status.error().to_string();
  EXPECT_EQ(rec.count_prefix("unit "), 1);
  EXPECT_EQ(rec.count_prefix("unit 0 1"), 1);
  ASSERT_TRUE(o.steps[0].output.is_list());
  const auto& out = o.steps[0].output.list();
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0], "OUT0");
  EXPECT_EQ(out[2], "OUT2");
  EXPECT_EQ(o.steps[0].status.units_done, 3);
  ASSERT_EQ(o.steps[0].samples.size(), 3u);
  EXPECT_NE(user_message(o.steps[0].samples[1]).find("Repeat y"), std::string::npos);
}

// A loop resumes after its last consecutive finished iteration, with loop.previous restored.
TEST(WorkflowRunner, LoopResumesAfterTheLastFinishedIteration) {
  auto l = load_text(R"Y(agents: { a: { sampling: { max_tokens: 2 }, max_turns: 1 } }
steps:
  - id: again
    agent: a
    input: "Say {{ loop.previous }} ({{ loop.index }})"
    loop: { max_iterations: 4, until: "zzqx" }
)Y",
                     "loop_resume.yaml");
  RuntimePool pool{RuntimeOptions{}};
  ResumeState resume;
  for (int i : {0, 1, 3}) {  // 3 is not consecutive: iterations 2 and 3 run
    UnitOutcome done;
    done.output = "PREV" + std::to_string(i);
    resume.units[{0, i}] = done;
  }
  auto runner = WorkflowRunner::create(l.wf, options(), pool);
  ASSERT_TRUE(runner.ok());
  Recorder rec;
  ASSERT_TRUE((*runner)->start(l.inputs, rec.hooks(), resume, rec.done()).ok());
  auto o = wait_outcome(rec);
  ASSERT_TRUE(o.status.ok()) << o.status.error().to_string();
  EXPECT_EQ(rec.count_prefix("unit "), 2);
  EXPECT_LT(rec.at("unit 0 2"), rec.at("unit 0 3"));
  EXPECT_EQ(o.steps[0].status.units_total, 4);
  // The last iteration's sample; its input came from iteration 2's real output.
  ASSERT_EQ(o.steps[0].samples.size(), 1u);
  EXPECT_NE(user_message(o.steps[0].samples[0]).find("(3)"), std::string::npos);
  ASSERT_EQ(rec.units.count({0, 2}), 1u);

  // Every iteration finished (or the condition matched): nothing runs.
  ResumeState all;
  for (int i = 0; i < 4; ++i) {
    UnitOutcome done;
    done.output = "PREV" + std::to_string(i);
    all.units[{0, i}] = done;
  }
  auto second = WorkflowRunner::create(l.wf, options(), pool);
  ASSERT_TRUE(second.ok());
  Recorder rec2;
  ASSERT_TRUE((*second)->start(l.inputs, rec2.hooks(), all, rec2.done()).ok());
  auto o2 = wait_outcome(rec2);
  ASSERT_TRUE(o2.status.ok()) << o2.status.error().to_string();
  EXPECT_EQ(rec2.count_prefix("unit "), 0);
  EXPECT_EQ(o2.steps[0].output.text(), "PREV3");
}

TEST(WorkflowRunner, ResumedIterationFeedsLoopPrevious) {
  auto l = load_text(R"Y(agents: { a: { sampling: { max_tokens: 2 }, max_turns: 1 } }
steps:
  - id: again
    agent: a
    input: "Say {{ loop.previous }} ({{ loop.index }})"
    loop: { max_iterations: 2, until: "zzqx" }
)Y",
                     "loop_previous.yaml");
  RuntimePool pool{RuntimeOptions{}};
  ResumeState resume;
  UnitOutcome done;
  done.output = "PREV0";
  resume.units[{0, 0}] = done;
  auto runner = WorkflowRunner::create(l.wf, options(), pool);
  ASSERT_TRUE(runner.ok());
  auto o = [&] {
    Recorder rec;
    EXPECT_TRUE((*runner)->start(l.inputs, rec.hooks(), resume, rec.done()).ok());
    return wait_outcome(rec);
  }();
  ASSERT_TRUE(o.status.ok()) << o.status.error().to_string();
  ASSERT_EQ(o.steps[0].samples.size(), 1u);
  EXPECT_NE(user_message(o.steps[0].samples[0]).find("Say PREV0 (1)"), std::string::npos)
      << o.steps[0].samples[0].messages;
}

// cancel() from an event (a runtime thread) ends a started run; `done` comes once.
TEST(WorkflowRunner, StartThenCancelCallsDoneOnce) {
  auto l = load(example("best_of_majority.yaml"), {{"n", "32"}});
  RuntimePool pool{RuntimeOptions{}};
  auto runner = WorkflowRunner::create(l.wf, options(), pool);
  ASSERT_TRUE(runner.ok());
  Recorder rec;
  RunHooks hooks = rec.hooks();
  std::once_flag once;
  auto* r = runner->get();
  hooks.event = [&, inner = hooks.event](const RunEvent& e) {
    inner(e);
    if (e.kind == RunEvent::Kind::tool_call) std::call_once(once, [&] { r->cancel(); });
  };
  ASSERT_TRUE(r->start(l.inputs, std::move(hooks), {}, rec.done()).ok());
  auto o = wait_outcome(rec);
  ASSERT_FALSE(o.status.ok());
  EXPECT_EQ(o.status.error().code, ErrorCode::cancelled);
  EXPECT_EQ(o.steps[0].status.state, StepState::cancelled);
  r->cancel();  // again, after the end: nothing happens
  runner->reset();
  EXPECT_EQ(rec.done_calls.load(), 1);
}

TEST(WorkflowRunner, CancelBeforeStartEndsTheRunAtStart) {
  auto l = load_text(kTwoSteps, "two.yaml");
  RuntimePool pool{RuntimeOptions{}};
  auto runner = WorkflowRunner::create(l.wf, options(), pool);
  ASSERT_TRUE(runner.ok());
  (*runner)->cancel();
  Recorder rec;
  ASSERT_TRUE((*runner)->start(l.inputs, rec.hooks(), {}, rec.done()).ok());
  auto o = wait_outcome(rec);
  ASSERT_FALSE(o.status.ok());
  EXPECT_EQ(o.status.error().code, ErrorCode::cancelled);
  for (const auto& s : o.steps)
    EXPECT_EQ(s.status.state, StepState::cancelled);
  EXPECT_EQ(rec.count_prefix("started"), 0);
  EXPECT_EQ(rec.done_calls.load(), 1);
}

// Destroying a runner mid-run cancels it and waits for `done`.
TEST(WorkflowRunner, DestroyingARunningRunnerWaitsForDone) {
  auto l = load(example("best_of_majority.yaml"), {{"n", "32"}});
  RuntimePool pool{RuntimeOptions{}};
  auto runner = WorkflowRunner::create(l.wf, options(), pool);
  ASSERT_TRUE(runner.ok());
  Recorder rec;
  RunHooks hooks = rec.hooks();
  std::promise<void> first_call;
  std::once_flag once;
  hooks.event = [&, inner = hooks.event](const RunEvent& e) {
    inner(e);
    if (e.kind == RunEvent::Kind::tool_call) std::call_once(once, [&] { first_call.set_value(); });
  };
  ASSERT_TRUE((*runner)->start(l.inputs, std::move(hooks), {}, rec.done()).ok());
  ASSERT_EQ(first_call.get_future().wait_for(std::chrono::seconds(120)), std::future_status::ready);
  runner->reset();
  EXPECT_EQ(rec.done_calls.load(), 1);
  EXPECT_EQ(rec.log.back(), "done");
}

// Every request of a run carries the run's one scheduler program (the engine ranks its
// agents together); another run gets another. Observed at the engine actor's door.
TEST(WorkflowRunner, ARunsAgentsShareOneSchedulerProgram) {
  std::mutex mu;
  std::vector<std::int64_t> seen;
  RuntimeOptions base;
  base.on_generate = [&](const EngineRequest& r) {
    std::lock_guard lk(mu);
    seen.push_back(r.program.value_or(0));
  };
  RuntimePool pool{base};
  const Loaded l = load(example("team_review.yaml"));
  std::vector<std::int64_t> runs[2];
  for (auto& programs : runs) {
    auto runner = WorkflowRunner::create(l.wf, options(), pool);
    ASSERT_TRUE(runner.ok()) << runner.error().to_string();
    const auto o = (*runner)->run(l.inputs);
    ASSERT_TRUE(o.status.ok()) << o.status.error().to_string();
    std::lock_guard lk(mu);
    programs = std::exchange(seen, {});
  }
  ASSERT_GE(runs[0].size(), 4u);  // three reviewers and the checker
  EXPECT_EQ(std::set(runs[0].begin(), runs[0].end()).size(), 1u);
  EXPECT_EQ(std::set(runs[1].begin(), runs[1].end()).size(), 1u);
  EXPECT_LT(runs[0][0], 0);  // a Runtime program, never an engine request id
  EXPECT_NE(runs[0][0], runs[1][0]);
}

// A run that names its agent program (a REST job's `program`) carries that program's key, the
// same in every run of it, so the scheduler and a cluster's program_affinity see one program.
TEST(WorkflowRunner, ARunNamingItsProgramCarriesThatProgramsKey) {
  std::mutex mu;
  std::vector<std::int64_t> seen;
  RuntimeOptions base;
  base.on_generate = [&](const EngineRequest& r) {
    std::lock_guard lk(mu);
    seen.push_back(r.program.value_or(0));
  };
  RuntimePool pool{base};
  const Loaded l = load(example("single_agent.yaml"));
  RunnerOptions named = options();
  named.program = "user-7";
  for (int run = 0; run < 2; ++run) {
    auto runner = WorkflowRunner::create(l.wf, named, pool);
    ASSERT_TRUE(runner.ok()) << runner.error().to_string();
    const auto o = (*runner)->run(l.inputs);
    ASSERT_TRUE(o.status.ok()) << o.status.error().to_string();
  }
  std::lock_guard lk(mu);
  ASSERT_GE(seen.size(), 2u);
  for (const std::int64_t p : seen)
    EXPECT_EQ(p, Runtime::program_of_key("user-7"));
}

// Workflow-aware KV (KVFlow): the runner tells the engine when each step's agent prefix is
// next needed (the checker's while the reviewers run, then its own), and drops every hint
// once the run has ended.
TEST(WorkflowRunner, StepsHintTheirPrefixesAndClearThemAtTheEnd) {
  RuntimePool pool{RuntimeOptions{}};
  const Loaded l = load(example("team_review.yaml"));
  auto runner = WorkflowRunner::create(l.wf, options(), pool);
  ASSERT_TRUE(runner.ok()) << runner.error().to_string();
  const auto o = (*runner)->run(l.inputs);
  ASSERT_TRUE(o.status.ok()) << o.status.error().to_string();
  ASSERT_EQ(pool.all().size(), 1u);
  Runtime* rt = pool.all()[0];
  // Four steps hinted at least once each (the checker twice: 1 then 0), then cleared.
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  auto m = rt->metrics();
  while ((m.kv.hint_owners != 0 || m.kv.hints_set < 5) && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    m = rt->metrics();
  }
  EXPECT_GE(m.kv.hints_set, 5);
  EXPECT_EQ(m.kv.hint_owners, 0);
}

// A workflow's own tools replace the runtime's: a custom command named `calculator`, with
// the builtin's definition (what tiny-calc was trained on), runs instead of the builtin.
TEST(WorkflowRunner, ACustomCommandToolRunsInsteadOfTheBuiltin) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("agentrt-wf-custom-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = dir / "custom.yaml";
  {
    std::ofstream f(path);
    f << R"yaml(tools:
  calculator:
    command: [python3, -c, "import sys, json; json.load(sys.stdin); print('custom-7777')"]
    description: Evaluate an integer arithmetic expression with + - * / and parentheses. Division must be exact.
    schema:
      type: object
      properties: { expression: { type: string, description: "The expression, e.g. 12 * (3 + 4)" } }
      required: [expression]
agents:
  a:
    system: "You solve arithmetic word problems. Use the calculator tool for every operation, then give the final line as 'Answer: N'."
    tools: [calculator]
    sampling: { temperature: 0, max_tokens: 160 }
    max_turns: 3
steps:
  - { id: s, agent: a, input: "Sam has 13 stamps. Kate has 7 more stamps than Sam. How many stamps does Kate have?" }
)yaml";
  }
  std::mutex mu;
  std::vector<std::string> lines;
  const auto o = run(load(path.string()), [&](const std::string&, const std::string& line) {
    std::lock_guard lk(mu);
    lines.push_back(line);
  });
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(o.status.ok()) << o.status.error().to_string();
  bool custom = false;
  for (const auto& l : lines)
    custom = custom || l.find("custom-7777") != std::string::npos;
  EXPECT_TRUE(custom) << "no tool result from the custom command";
}

// The filesystem MCP server (tests/mcp, npm ci) starts with the run, its tools are offered
// to the agent, and the run finishes.
TEST(WorkflowRunner, ResearchFilesStartsTheFilesystemServerAndFinishes) {
  ASSERT_TRUE(std::filesystem::exists(std::string(AGENTRT_SOURCE_DIR) +
                                      "/tests/mcp/node_modules/.bin/mcp-server-filesystem"))
      << "run `npm ci` in tests/mcp (scripts/test.sh does)";
  const Loaded l = load(example("research_files.yaml"));
  RuntimePool pool{RuntimeOptions{}};
  auto runner = WorkflowRunner::create(l.wf, options(), pool);
  ASSERT_TRUE(runner.ok()) << runner.error().to_string();
  const auto o = (*runner)->run(l.inputs);
  ASSERT_TRUE(o.status.ok()) << o.status.error().to_string();
  ASSERT_EQ(o.steps.size(), 1u);
  EXPECT_EQ(o.steps[0].status.state, StepState::done);
}

}  // namespace
}  // namespace agentrt::actors::workflow
