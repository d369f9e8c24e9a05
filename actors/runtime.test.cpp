// The actor runtime end to end on the CPU with the embedded model, models/tiny-calc, which
// really emits calculator tool calls: concurrent agents, pins during tool calls, TTL
// expiry, best-of-N prefix sharing, cancellation, tool errors, overload and supervision.
#include "actors/runtime.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "actors/calculator.h"
#include "actors/tool_registry.h"

namespace agentrt::actors {
namespace {

using namespace std::chrono_literals;

const char* kSystem =
    "You solve arithmetic word problems. Use the calculator tool for every operation, then "
    "give the final line as 'Answer: N'.";
const char* kProblems[] = {
    ("Sam has 13 stamps. Kate has 7 more stamps than Sam. Rosa has 4 coins. How many stamps "
     "does Kate have?"),
    "Ali has 24 apples. Ben has half as many apples as Ali. How many apples does Ben have?",
    "Mia has 9 pens. Leo has 3 times as many pens as Mia. How many pens does Leo have?",
    "Tom has 40 cards. Eva has 12 fewer cards than Tom. How many cards does Eva have?",
};

RuntimeOptions options() {
  RuntimeOptions o;
  o.model_dir = std::string(AGENTRT_SOURCE_DIR) + "/models/tiny-calc";
  o.kv_blocks = 256;
  o.cpu_threads = 2;
  o.actor_threads = 2;
  o.tools.push_back(ToolConfig{});  // calculator
  return o;
}

AgentSpec solver(int max_turns = 6) {
  AgentSpec a;
  a.name = "solver";
  a.system_prompt = kSystem;
  a.tools = {"calculator"};
  a.sampling.temperature = 0.0f;
  a.sampling.max_tokens = 96;
  a.max_turns = max_turns;
  return a;
}

// A calculator that takes `delay` (or throws), for pins, TTLs and errors.
class SlowCalculator final : public Tool {
 public:
  SlowCalculator(std::chrono::milliseconds delay, std::chrono::milliseconds timeout,
                 bool throws = false)
      : delay_(delay), throws_(throws) {
    spec_.name = "calculator";
    spec_.description =
        "Evaluate an integer arithmetic expression with + - * / and parentheses. Division "
        "must be exact.";
    spec_.parameters = Json::parse(R"json({"type": "object", "properties": {"expression":
        {"type": "string", "description": "The expression, e.g. 12 * (3 + 4)"}},
        "required": ["expression"]})json");
    spec_.timeout = timeout;
  }
  const ToolSpec& spec() const override { return spec_; }
  Result<std::string> invoke(const Json& args) override {
    std::this_thread::sleep_for(delay_);
    if (throws_) throw std::runtime_error("calculator backend is down");
    auto v = evaluate_expression(args.at("expression").get<std::string>());
    if (!v.ok()) return v.error();
    return std::to_string(*v);
  }
  Json& parameters() { return spec_.parameters; }

 private:
  ToolSpec spec_;
  std::chrono::milliseconds delay_;
  bool throws_;
};

// A calculator whose calls block until the test opens the gate (the first `free_calls`
// pass at once): holds an agent in a tool call for exactly as long as a test needs.
class GateCalculator final : public Tool {
 public:
  explicit GateCalculator(int free_calls = 0,
                          std::chrono::milliseconds timeout = std::chrono::minutes(10))
      : free_(free_calls) {
    spec_.name = "calculator";
    spec_.description =
        "Evaluate an integer arithmetic expression with + - * / and parentheses. Division "
        "must be exact.";
    spec_.parameters = Json::parse(R"json({"type": "object", "properties": {"expression":
        {"type": "string", "description": "The expression, e.g. 12 * (3 + 4)"}},
        "required": ["expression"]})json");
    spec_.timeout = timeout;
  }
  const ToolSpec& spec() const override { return spec_; }
  Result<std::string> invoke(const Json& args) override {
    {
      std::unique_lock lock(mu_);
      if (++calls_ > free_) {
        ++blocked_;
        cv_.notify_all();
        cv_.wait(lock, [&] { return open_; });
      }
    }
    auto v = evaluate_expression(args.at("expression").get<std::string>());
    if (!v.ok()) return v.error();
    return std::to_string(*v);
  }
  void open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  // Waits until `n` calls are blocked at the gate.
  void wait_blocked(int n) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return blocked_ >= n; });
  }
  int calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }

 private:
  ToolSpec spec_;
  const int free_;
  std::mutex mu_;
  std::condition_variable cv_;
  int calls_ = 0, blocked_ = 0;
  bool open_ = false;
};

// Opens a gate when the test ends, before the Runtime (declared earlier) waits for its jobs.
struct OpenAtEnd {
  std::shared_ptr<GateCalculator> gate;
  ~OpenAtEnd() { gate->open(); }
};

// The engine's clock, moved by the test only (atomic: the engine thread reads it).
class TestClock final : public kv::Clock {
 public:
  kv::TimePoint now() const override { return kv::TimePoint(kv::Duration(ns_.load())); }
  void advance(kv::Duration d) { ns_ += d.count(); }

 private:
  std::atomic<std::int64_t> ns_{1};
};

// Polls the runtime's metrics until `pred` holds (the snapshot follows each engine step).
template <class Pred>
bool wait_metrics(Runtime& rt, Pred pred) {
  for (int i = 0; i < 60000; ++i) {  // a hang guard, not a deadline: ~60 s
    if (pred(rt.metrics())) return true;
    std::this_thread::sleep_for(1ms);
  }
  return false;
}

// The engine's snapshot shows no live request (it follows the step after the last end).
void wait_idle(Runtime& rt) {
  EXPECT_TRUE(wait_metrics(rt, [](const RuntimeMetrics& m) { return m.active_requests == 0; }));
}

std::unique_ptr<Runtime> make_runtime(RuntimeOptions o) {
  auto rt = Runtime::create(std::move(o));
  EXPECT_TRUE(rt.ok()) << rt.error().to_string();
  return rt.ok() ? std::move(*rt) : nullptr;
}

bool has_tool_message(const AgentResult& r, const std::string& prefix) {
  for (const auto& m : r.conversation.messages)
    if (m.role == chat::Role::tool && m.content.rfind(prefix, 0) == 0) return true;
  return false;
}

// RuntimeOptions::engine_front is told the engine actor and the fingerprint the engine's KV
// block keys chain from (a cluster router keys prompts with it), not the model's own.
TEST(Runtime, EngineFrontIsToldTheEngineAndItsKvKeyFingerprint) {
  std::optional<EngineFrontContext> told;
  RuntimeOptions o = options();
  o.engine_front = [&](const EngineFrontContext& c) {
    told = c;
    return caf::actor();  // none: the agents talk to the engine
  };
  auto rt = Runtime::create(o);
  ASSERT_TRUE(rt.ok()) << rt.error().to_string();
  ASSERT_TRUE(told.has_value());
  EXPECT_EQ(told->fingerprint, (*rt)->kv_key_fingerprint());
  EXPECT_EQ(told->block_size, (*rt)->kv_geometry().block_size);
  EXPECT_EQ(told->engine, (*rt)->engine_handle());
  EXPECT_EQ(told->model_dir, o.model_dir);
}

TEST(Runtime, ManyConcurrentAgentsMakeToolCalls) {
  auto rt = make_runtime(options());
  ASSERT_TRUE(rt);
#if defined(__SANITIZE_THREAD__)
  constexpr int kAgents = 4;  // TSan runs the CPU backend ~20x slower
#else
  constexpr int kAgents = 8;
#endif
  std::vector<std::promise<Result<AgentResult>>> done(kAgents);
  for (int i = 0; i < kAgents; ++i) {
    auto id = rt->start_agent(solver(), kProblems[i % 4], {}, [&done, i](Result<AgentResult> r) {
      done[i].set_value(std::move(r));
    });
    ASSERT_TRUE(id.ok());
  }
  int calls = 0, answered = 0;
  for (auto& d : done) {
    auto r = d.get_future().get();
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    calls += r->tool_calls;
    EXPECT_GE(r->turns, 1);
    if (r->stop == StopReason::final_answer && r->output.find("Answer:") != std::string::npos)
      ++answered;
    if (r->tool_calls > 0) {
      EXPECT_TRUE(has_tool_message(*r, "")) << "tool results are in the conversation";
    }
  }
  EXPECT_GE(calls, kAgents) << "tiny-calc calls the calculator at least once per problem";
  EXPECT_GE(answered, kAgents / 2);
  wait_idle(*rt);
  const auto m = rt->metrics();
  EXPECT_EQ(m.kv.pinned_blocks, 0);
  EXPECT_EQ(m.active_requests, 0);
  EXPECT_GE(m.kv.pins_created, kAgents);
  EXPECT_GT(m.kv.hit_tokens[0], 0) << "resumed turns found their pinned prefix";
}

TEST(Runtime, GreedyAnswerIsCorrectWithRealCalculator) {
  auto rt = make_runtime(options());
  ASSERT_TRUE(rt);
  auto r = rt->run_agent(solver(), kProblems[0]);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_GE(r->tool_calls, 1);
  EXPECT_TRUE(has_tool_message(*r, "20")) << "13 + 7 through the calculator";
  EXPECT_EQ(r->stop, StopReason::final_answer);
  EXPECT_NE(r->output.find("Answer: 20"), std::string::npos) << r->output;
}

TEST(Runtime, PinsShowInMetricsWhileAToolRuns) {
  TestClock clock;  // stands still: the pin cannot lapse however slow the machine is
  auto o = options();
  o.tools.clear();
  o.clock = &clock;
  auto rt = make_runtime(o);
  ASSERT_TRUE(rt);
  auto gate = std::make_shared<GateCalculator>();
  OpenAtEnd opener{gate};
  ASSERT_TRUE(rt->add_tool(gate).ok());
  std::promise<Result<AgentResult>> done;
  ASSERT_TRUE(rt->start_agent(solver(2), kProblems[0], {}, [&](Result<AgentResult> r) {
                  done.set_value(std::move(r));
                }).ok());
  gate->wait_blocked(1);
  // The turn pauses at its EOS after the call closed: its blocks stay pinned while the
  // tool is held.
  EXPECT_TRUE(wait_metrics(*rt, [](const RuntimeMetrics& m) { return m.kv.pinned_blocks > 0; }))
      << "the paused turn's blocks are pinned during the tool call";
  gate->open();
  auto r = done.get_future().get();
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  wait_idle(*rt);
  EXPECT_EQ(rt->metrics().kv.pinned_blocks, 0) << "pins are released on resume and at the end";
  EXPECT_EQ(rt->metrics().kv.pins_expired, 0);
}

// The pin's TTL lapses on the engine's clock (driven here), not on the wall: the tool is
// held at a gate, the clock jumps past the TTL, and the next engine step expires the pin.
TEST(Runtime, APinExpiresWhenTheEngineClockPassesItsTtl) {
  TestClock clock;
  auto o = options();
  o.tools.clear();
  o.clock = &clock;
  o.host_tier_bytes = 0;  // no prefetch: no re-pin after the one for the call
  auto rt = make_runtime(o);
  ASSERT_TRUE(rt);
  auto gate = std::make_shared<GateCalculator>();
  OpenAtEnd opener{gate};
  ASSERT_TRUE(rt->add_tool(gate).ok());
  std::promise<Result<AgentResult>> done;
  ASSERT_TRUE(rt->start_agent(solver(2), kProblems[0], {}, [&](Result<AgentResult> r) {
                  done.set_value(std::move(r));
                }).ok());
  gate->wait_blocked(1);
  // The pause's pin, then the agent's re-pin for the call it made: the clock jumps only after
  // both, so neither is made on the far side of the jump (slow builds saw the re-pin land late).
  ASSERT_TRUE(wait_metrics(*rt, [](const RuntimeMetrics& m) {
    return m.kv.pinned_blocks > 0 && m.kv.pins_created >= 2;
  }));
  EXPECT_EQ(rt->metrics().kv.pins_expired, 0);
  clock.advance(std::chrono::hours(1));
  AgentSpec other = solver(1);  // any engine work runs a step, which expires pins
  other.tools.clear();
  other.sampling.max_tokens = 1;
  ASSERT_TRUE(rt->run_agent(other, kProblems[1]).ok());
  EXPECT_TRUE(wait_metrics(*rt, [](const RuntimeMetrics& m) { return m.kv.pins_expired >= 1; }));
  gate->open();
  auto r = done.get_future().get();
  ASSERT_TRUE(r.ok()) << r.error().to_string();  // the resumed turn recomputed its prefix
  EXPECT_GE(r->tool_calls, 1);
  wait_idle(*rt);
  EXPECT_EQ(rt->metrics().kv.pinned_blocks, 0);
}

// A tool held past its timeout: the agent moves on with an error message for the model.
TEST(Runtime, AToolPastItsTimeoutBecomesAnErrorForTheModel) {
  auto o = options();
  o.tools.clear();
  auto rt = make_runtime(o);
  ASSERT_TRUE(rt);
  auto gate = std::make_shared<GateCalculator>(0, 200ms);  // never opens before the end
  OpenAtEnd opener{gate};
  ASSERT_TRUE(rt->add_tool(gate).ok());
  auto r = rt->run_agent(solver(2), kProblems[0]);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_TRUE(has_tool_message(*r, "error: tool 'calculator' timed out after 200 ms"));
  EXPECT_GE(r->tool_errors, 1);
}

// The agent's own tool list is what runs: a runtime-wide tool it was not given is refused,
// and the call reaches the model as an error, never the tool.
TEST(Runtime, AToolOutsideTheAgentsListNeverRuns) {
  auto o = options();
  o.tools.clear();
  auto rt = make_runtime(o);
  ASSERT_TRUE(rt);
  auto gate = std::make_shared<GateCalculator>(1000);  // counts calls; never blocks
  ASSERT_TRUE(rt->add_tool(gate).ok());
  // The agent is given no tools, but its system prompt shows the model the calculator's
  // definition, byte for byte as the template renders an offered tool: tiny-calc calls it.
  ToolRegistry reg;
  ASSERT_TRUE(reg.add(gate).ok());
  chat::Conversation conv;
  conv.messages.push_back({chat::Role::system, kSystem, {}, {}, {}, {}});
  conv.messages.push_back({chat::Role::user, "x", {}, {}, {}, {}});
  conv.tools = reg.definitions({"calculator"}).value();
  auto full = chat::render(chat::Family::chatml_qwen, conv, {});
  ASSERT_TRUE(full.ok());
  const std::string head = "<|im_start|>system\n";
  const auto end = full->find("<|im_end|>\n<|im_start|>user");
  ASSERT_NE(end, std::string::npos);
  AgentSpec a = solver(2);
  a.tools.clear();
  a.system_prompt = full->substr(head.size(), end - head.size());
  auto r = rt->run_agent(a, kProblems[0]);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  ASSERT_GE(r->tool_calls, 1) << "tiny-calc no longer calls tools it is not offered";
  EXPECT_TRUE(has_tool_message(
      *r, "error: tool 'calculator' is not available to this agent (its tools: none)"));
  EXPECT_EQ(r->tool_errors, r->tool_calls);
  EXPECT_EQ(gate->calls(), 0) << "a tool outside the agent's list ran";
}

TEST(Runtime, ToolErrorsReachTheModel) {
  auto o = options();
  o.tools.clear();
  auto rt = make_runtime(o);
  ASSERT_TRUE(rt);
  ASSERT_TRUE(rt->add_tool(std::make_shared<SlowCalculator>(0ms, 5s, true)).ok());
  auto r = rt->run_agent(solver(2), kProblems[1]);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_TRUE(has_tool_message(*r, "error: tool threw: calculator backend is down"));

  // Arguments outside the schema: this calculator wants an integer expression.
  auto rt2 = make_runtime(o);
  auto strict = std::make_shared<SlowCalculator>(0ms, 5s);
  strict->parameters()["properties"]["expression"]["type"] = "integer";
  ASSERT_TRUE(rt2->add_tool(strict).ok());
  auto r2 = rt2->run_agent(solver(2), kProblems[1]);
  ASSERT_TRUE(r2.ok()) << r2.error().to_string();
  EXPECT_TRUE(has_tool_message(
      *r2, "error: tool 'calculator': arguments: /expression: expected integer, got string"));
}

TEST(Runtime, BestOfNPrefillsThePromptOnce) {
  AgentSpec a = solver(1);  // one reply per sample: nothing but the prompt is prefilled
  a.sampling.temperature = 0.8f;
  a.sampling.seed = 7;
  BestOfSpec b;
  b.n = 4;
  for (bool share : {false, true}) {
    auto rt = make_runtime(options());  // a cold cache for each mode
    ASSERT_TRUE(rt);
    b.share_first_token = share;
    const auto before = rt->metrics();
    auto r = rt->run_best_of(a, kProblems[0], b);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    ASSERT_EQ(r->samples.size(), 4u);
    for (const auto& s : r->samples) {
      EXPECT_TRUE(s.error.empty()) << s.error;
      EXPECT_GE(s.result.generated_tokens, 1);
    }
    EXPECT_GT(r->prompt_tokens, 100);
    wait_idle(*rt);
    const auto after = rt->metrics();
    const auto prefilled = after.engine.prefilled_tokens - before.engine.prefilled_tokens;
    if (share) {  // one prefill, then Engine::fork: nothing else is computed
      EXPECT_EQ(prefilled, r->prompt_tokens);
      EXPECT_GT(after.kv.cow_copies, before.kv.cow_copies);
    } else {  // a probe prefill; each sample computes only the prompt's partial last block
      EXPECT_GE(prefilled, r->prompt_tokens + 4);
      EXPECT_LE(prefilled, r->prompt_tokens + 4 * 16);
      EXPECT_GE(after.kv.hit_tokens[0] - before.kv.hit_tokens[0], 4 * (r->prompt_tokens - 16));
    }
  }
}

TEST(Runtime, BestOfNMajorityVoteWithToolCalls) {
  auto rt = make_runtime(options());
  ASSERT_TRUE(rt);
  AgentSpec a = solver(4);
  a.sampling.temperature = 0.8f;
  BestOfSpec b;
  b.n = 4;
  b.first_k = 3;
  auto r = rt->run_best_of(a, kProblems[0], b);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  // The chosen answer is the majority of the finished samples' answers, recomputed here.
  std::map<std::string, int> votes;
  int finished = 0, stopped = 0;
  for (const auto& s : r->samples) {
    EXPECT_TRUE(s.error.empty()) << s.error;
    finished += s.finished ? 1 : 0;
    stopped += s.result.stop == StopReason::cancelled ? 1 : 0;
    if (s.finished && s.answer) ++votes[*s.answer];
  }
  if (stopped > 0) {
    EXPECT_GE(finished, 3) << "samples are stopped only once first_k finished";
  }
  ASSERT_FALSE(votes.empty()) << "no sample gave an answer";
  int top = 0;
  for (const auto& [answer, v] : votes)
    top = std::max(top, v);
  ASSERT_GE(r->chosen, 0);
  ASSERT_TRUE(r->answer.has_value());
  EXPECT_EQ(votes[*r->answer], top) << "the chosen answer has the most votes";
  EXPECT_EQ(r->votes, top);
  const auto& chosen = r->samples[static_cast<std::size_t>(r->chosen)];
  EXPECT_TRUE(chosen.finished);
  EXPECT_EQ(chosen.answer, r->answer);
  for (int i = 0; i < r->chosen; ++i) {  // ties go to the earliest sample
    const auto& s = r->samples[static_cast<std::size_t>(i)];
    EXPECT_FALSE(s.finished && s.answer && votes[*s.answer] == top) << i;
  }
  wait_idle(*rt);
  EXPECT_EQ(rt->metrics().kv.pinned_blocks, 0);
}

// Scores an answer by its length in bytes: a score the test can recompute.
class AnswerScorer final : public Tool {
 public:
  AnswerScorer() {
    spec_.name = "scorer";
    spec_.description = "Scores a proposed answer";
    spec_.parameters = Json::parse(R"j({"type": "object", "properties": {"question":
        {"type": "string"}, "answer": {"type": "string"}}, "required": ["question", "answer"]})j");
  }
  const ToolSpec& spec() const override { return spec_; }
  Result<std::string> invoke(const Json& args) override {
    ++calls;
    return std::to_string(args.at("answer").get<std::string>().size());
  }
  std::atomic<int> calls{0};

 private:
  ToolSpec spec_;
};

// A seeded best-of: each sample draws from a seed of its own (not all the request's), so
// the samples differ; the same seed repeats them.
TEST(Runtime, SeededBestOfSamplesDifferAndRepeat) {
  AgentSpec a = solver(1);
  a.sampling.temperature = 1.5f;
  a.sampling.seed = 11;
  BestOfSpec b;
  b.n = 4;
  std::vector<std::vector<std::string>> runs;
  for (int run = 0; run < 2; ++run) {
    auto rt = make_runtime(options());
    ASSERT_TRUE(rt);
    auto r = rt->run_best_of(a, kProblems[0], b);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    std::vector<std::string> outputs;
    for (const auto& s : r->samples) {  // the reply may be a tool call only: add its logprob
      outputs.push_back(s.result.output + " | " + std::to_string(s.result.mean_logprob) + " | " +
                        std::to_string(s.result.generated_tokens));
    }
    runs.push_back(outputs);
  }
  EXPECT_EQ(runs[0], runs[1]);
  std::set<std::string> distinct(runs[0].begin(), runs[0].end());
  EXPECT_GT(distinct.size(), 1u) << "every sample drew the same tokens";
}

TEST(Runtime, BestOfNAggregatesByLogprobScorerAndVerifier) {
  auto rt = make_runtime(options());
  ASSERT_TRUE(rt);
  auto scorer = std::make_shared<AnswerScorer>();
  ASSERT_TRUE(rt->add_tool(scorer).ok());
  AgentSpec a = solver(4);
  a.sampling.temperature = 0.8f;
  a.sampling.seed = 3;
  BestOfSpec b;
  b.n = 3;
  b.aggregation = Aggregation::max_mean_logprob;
  auto lp = rt->run_best_of(a, kProblems[0], b);
  ASSERT_TRUE(lp.ok()) << lp.error().to_string();
  ASSERT_GE(lp->chosen, 0);
  for (const auto& s : lp->samples) {
    if (s.finished) {
      EXPECT_LE(s.score, lp->samples[static_cast<std::size_t>(lp->chosen)].score);
    }
  }

  b.aggregation = Aggregation::scorer_tool;
  b.scorer_tool = "scorer";
  auto sc = rt->run_best_of(a, kProblems[0], b);
  ASSERT_TRUE(sc.ok()) << sc.error().to_string();
  int finished = 0, best = -1;
  double top = 0;
  for (std::size_t i = 0; i < sc->samples.size(); ++i) {
    const auto& s = sc->samples[i];
    if (!s.finished) continue;
    ++finished;
    const double want = static_cast<double>(s.answer.value_or(s.result.output).size());
    EXPECT_DOUBLE_EQ(s.score, want) << "sample " << i << " carries the scorer's number";
    if (best < 0 || want > top) best = static_cast<int>(i), top = want;
  }
  EXPECT_EQ(scorer->calls.load(), finished);
  EXPECT_EQ(sc->chosen, best) << "the highest score wins, ties to the earlier sample";

  // Verifier: its output is matched against verifier_accept. "" accepts every output,
  // "(?!)" none: every finished sample then scores 1 (or 0), and the first finished wins.
  b.aggregation = Aggregation::verifier_agent;
  AgentSpec v = solver(1);
  v.name = "checker";
  v.tools.clear();
  v.system_prompt = "You check a proposed solution and reply CORRECT or WRONG.";
  v.sampling.max_tokens = 16;
  b.verifier = v;
  for (const auto& [accept, score] : {std::pair<std::string, double>{"", 1.0}, {"(?!)", 0.0}}) {
    b.verifier_accept = accept;
    auto ve = rt->run_best_of(a, kProblems[0], b);
    ASSERT_TRUE(ve.ok()) << ve.error().to_string();
    int first = -1;
    for (std::size_t i = 0; i < ve->samples.size(); ++i) {
      const auto& s = ve->samples[i];
      EXPECT_TRUE(s.error.empty()) << s.error;
      if (!s.finished) continue;
      if (first < 0) first = static_cast<int>(i);
      EXPECT_EQ(s.score, score) << "accept '" << accept << "', sample " << i;
    }
    EXPECT_EQ(ve->chosen, first);
  }
  b.aggregation = Aggregation::scorer_tool;
  b.scorer_tool = "missing";
  EXPECT_FALSE(rt->run_best_of(a, kProblems[0], b).ok());
  EXPECT_EQ(parse_aggregation("majority").value(), Aggregation::majority_vote);
  EXPECT_FALSE(parse_aggregation("best").ok());
}

TEST(Runtime, TokenBudgetStopsTheAgentAndFreesItsKv) {
  auto rt = make_runtime(options());
  ASSERT_TRUE(rt);
  AgentSpec a = solver();
  a.token_budget = 10;
  auto r = rt->run_agent(a, kProblems[0]);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->stop, StopReason::token_budget);
  EXPECT_EQ(r->generated_tokens, 10);
  wait_idle(*rt);
  EXPECT_EQ(rt->metrics().active_requests, 0);
  EXPECT_EQ(rt->metrics().kv.pinned_blocks, 0);
}

TEST(Runtime, CancellationFreesAllKv) {
  auto o = options();
  o.tools.clear();
  auto rt = make_runtime(o);
  ASSERT_TRUE(rt);
  auto gate = std::make_shared<GateCalculator>();  // the call is held until the end
  OpenAtEnd opener{gate};
  ASSERT_TRUE(rt->add_tool(gate).ok());
  std::promise<JobId> in_tool;
  std::atomic<bool> once{false};
  std::promise<Result<AgentResult>> done;
  auto id = rt->start_agent(
      solver(), kProblems[0],
      [&](const Progress& p) {
        if (p.kind == ProgressKind::tool_call && !once.exchange(true)) in_tool.set_value(p.job);
      },
      [&](Result<AgentResult> r) { done.set_value(std::move(r)); });
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(in_tool.get_future().get(), *id);
  rt->cancel(*id);
  auto r = done.get_future().get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::cancelled);
  wait_idle(*rt);
  const auto m = rt->metrics();
  EXPECT_EQ(m.active_requests, 0);
  EXPECT_EQ(m.kv.pinned_blocks, 0);
  EXPECT_EQ(m.kv_available_blocks, m.kv_blocks);
}

// Past the live bound, agents wait in the queue; only past the queue's cap is a caller
// told `overloaded`. A cancel of a waiting agent ends it at once.
TEST(Runtime, AgentsWaitBehindTheLiveBoundAndOnlyAFullQueueIsOverloaded) {
  auto o = options();
  o.tools.clear();
  o.max_pending_requests = 1;
  o.max_queued_requests = 2;
  auto rt = make_runtime(o);
  ASSERT_TRUE(rt);
  auto gate = std::make_shared<GateCalculator>();
  OpenAtEnd opener{gate};
  ASSERT_TRUE(rt->add_tool(gate).ok());
  std::promise<Result<AgentResult>> first, second, third;
  auto start = [&](std::promise<Result<AgentResult>>& p, int problem) {
    return rt->start_agent(solver(2), kProblems[problem], {},
                           [&p](Result<AgentResult> r) { p.set_value(std::move(r)); });
  };
  ASSERT_TRUE(start(first, 0).ok());
  gate->wait_blocked(1);  // the first holds the only live slot (paused in its tool call)
  ASSERT_TRUE(start(second, 1).ok());
  auto third_id = start(third, 2);
  ASSERT_TRUE(third_id.ok());
  ASSERT_TRUE(wait_metrics(*rt, [](const RuntimeMetrics& m) { return m.queued_requests == 2; }));
  auto fourth = rt->run_agent(solver(2), kProblems[3]);
  ASSERT_FALSE(fourth.ok());
  EXPECT_EQ(fourth.error().code, ErrorCode::overloaded);
  EXPECT_NE(fourth.error().message.find("max_queued_requests 2"), std::string::npos)
      << fourth.error().message;
  EXPECT_EQ(rt->metrics().rejected_requests, 1);
  rt->cancel(*third_id);  // waiting: withdrawn without ever reaching the engine
  auto t = third.get_future().get();
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().code, ErrorCode::cancelled);
  gate->open();
  auto r1 = first.get_future().get();
  EXPECT_TRUE(r1.ok()) << r1.error().to_string();
  auto r2 = second.get_future().get();
  EXPECT_TRUE(r2.ok()) << r2.error().to_string();
  wait_idle(*rt);
  EXPECT_EQ(rt->metrics().queued_requests, 0);
}

// A refusal at admission keeps its code through the engine loop's TokenBatch: an agent
// that waited for a live slot and then cannot fit in the KV pool ends out_of_memory (it
// used to arrive as internal).
TEST(Runtime, AWaitingAgentRefusedAtAdmissionKeepsItsErrorCode) {
  auto o = options();
  o.tools.clear();
  o.kv_blocks = 64;  // 1,024 tokens: the solver fits, 2,000 more tokens do not
  o.max_pending_requests = 1;
  auto rt = make_runtime(o);
  ASSERT_TRUE(rt);
  auto gate = std::make_shared<GateCalculator>();
  OpenAtEnd opener{gate};
  ASSERT_TRUE(rt->add_tool(gate).ok());
  std::promise<Result<AgentResult>> first, big;
  ASSERT_TRUE(rt->start_agent(solver(2), kProblems[0], {}, [&](Result<AgentResult> r) {
                  first.set_value(std::move(r));
                }).ok());
  gate->wait_blocked(1);  // the first holds the only live slot
  AgentSpec huge = solver(2);
  huge.sampling.max_tokens = 2000;
  ASSERT_TRUE(rt->start_agent(huge, kProblems[1], {}, [&](Result<AgentResult> r) {
                  big.set_value(std::move(r));
                }).ok());
  ASSERT_TRUE(wait_metrics(*rt, [](const RuntimeMetrics& m) { return m.queued_requests == 1; }));
  gate->open();
  auto r = big.get_future().get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::out_of_memory) << r.error().to_string();
  EXPECT_NE(r.error().message.find("agent 'solver': engine: request needs"), std::string::npos)
      << r.error().message;
  auto r1 = first.get_future().get();
  EXPECT_TRUE(r1.ok()) << r1.error().to_string();
  wait_idle(*rt);
}

// More agents than live slots: all run to the end, none is refused.
TEST(Runtime, ManyAgentsOnFewLiveSlotsAllFinish) {
  auto o = options();
  o.max_pending_requests = 2;
  auto rt = make_runtime(o);
  ASSERT_TRUE(rt);
  constexpr int kAgents = 8;
  AgentSpec a = solver(2);
  a.sampling.max_tokens = 24;
  std::vector<std::promise<Result<AgentResult>>> done(kAgents);
  for (int i = 0; i < kAgents; ++i)
    ASSERT_TRUE(rt->start_agent(a, kProblems[i % 4], {}, [&done, i](Result<AgentResult> r) {
                    done[static_cast<std::size_t>(i)].set_value(std::move(r));
                  }).ok());
  for (auto& d : done) {
    auto r = d.get_future().get();
    EXPECT_TRUE(r.ok()) << r.error().to_string();
  }
  EXPECT_EQ(rt->metrics().rejected_requests, 0);
}

// best_of with n far above the live bound: the samples wait for slots instead of failing.
TEST(Runtime, BestOfFarAboveTheLiveBoundRuns) {
  auto o = options();
  o.max_pending_requests = 4;
  for (bool share : {false, true}) {
    auto rt = make_runtime(o);
    ASSERT_TRUE(rt);
    AgentSpec a = solver(1);
    a.sampling.temperature = 0.8f;
    a.sampling.seed = 5;
    a.sampling.max_tokens = 3;
    BestOfSpec b;
    b.n = 40;
    b.share_first_token = share;  // 40 forks cannot share 4 slots: independent samples
    auto r = rt->run_best_of(a, kProblems[0], b);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    ASSERT_EQ(r->samples.size(), 40u);
    for (const auto& s : r->samples) {
      EXPECT_TRUE(s.error.empty()) << s.error;
      EXPECT_GE(s.result.generated_tokens, 1);
    }
    EXPECT_EQ(rt->metrics().rejected_requests, 0);
    wait_idle(*rt);
    EXPECT_EQ(rt->metrics().kv.pinned_blocks, 0);
  }
  BestOfSpec too_many;
  too_many.n = kMaxBestOfSamples + 1;
  auto rt = make_runtime(o);
  auto r = rt->run_best_of(solver(1), kProblems[0], too_many);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "best_of: n = 1025: expected 1..1024 (kMaxBestOfSamples)");
}

// first_k stops the rest: one sample's tool call passes the gate and it finishes; the
// others wait at the gate until the sampler cancels them (without first_k they would wait
// there for good).
TEST(Runtime, FirstKCancelsTheSamplesStillRunning) {
  auto o = options();
  o.tools.clear();
  auto rt = make_runtime(o);
  ASSERT_TRUE(rt);
  auto gate = std::make_shared<GateCalculator>(1);
  OpenAtEnd opener{gate};
  ASSERT_TRUE(rt->add_tool(gate).ok());
  AgentSpec a = solver(3);  // greedy: every sample calls the calculator in its first reply
  BestOfSpec b;
  b.n = 4;
  b.first_k = 1;
  auto r = rt->run_best_of(a, kProblems[0], b);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  int finished = 0, stopped = 0, winner = -1;
  for (std::size_t i = 0; i < r->samples.size(); ++i) {
    const auto& s = r->samples[i];
    EXPECT_TRUE(s.error.empty()) << s.error;
    if (s.finished) finished += 1, winner = static_cast<int>(i);
    if (s.result.stop == StopReason::cancelled) ++stopped;
  }
  EXPECT_EQ(finished, 1);
  EXPECT_EQ(stopped, 3) << "the samples held at the gate were cancelled";
  EXPECT_EQ(r->chosen, winner);
  EXPECT_EQ(r->answer, "20");
  const auto& w = r->samples[static_cast<std::size_t>(winner)];
  EXPECT_EQ(r->generated_tokens, w.result.generated_tokens)
      << "cancelled samples report no tokens of their own";
  wait_idle(*rt);
  EXPECT_EQ(rt->metrics().kv.pinned_blocks, 0);
}

TEST(Runtime, AFailingAgentDoesNotStopTheOthers) {
  auto rt = make_runtime(options());
  ASSERT_TRUE(rt);
  auto bad_tool = rt->run_agent(
      [] {
        AgentSpec a = solver();
        a.tools = {"no_such_tool"};
        return a;
      }(),
      kProblems[0]);
  ASSERT_FALSE(bad_tool.ok());
  EXPECT_NE(bad_tool.error().message.find("unknown tool 'no_such_tool'"), std::string::npos);
  std::promise<Result<AgentResult>> good;
  ASSERT_TRUE(rt->start_agent(solver(), kProblems[0], {}, [&](Result<AgentResult> r) {
                  good.set_value(std::move(r));
                }).ok());
  std::string huge;
  for (int i = 0; i < 3000; ++i)
    huge += "12 + 7 ";
  auto too_long = rt->run_agent(solver(), huge);
  ASSERT_FALSE(too_long.ok());
  EXPECT_NE(too_long.error().message.find("context"), std::string::npos)
      << too_long.error().message;
  auto r = good.get_future().get();
  EXPECT_TRUE(r.ok()) << r.error().to_string();
}

}  // namespace
}  // namespace agentrt::actors
