// The actor runtime end to end on the CPU with the embedded model, models/tiny-calc, which
// really emits calculator tool calls: concurrent agents, pins during tool calls, TTL
// expiry, best-of-N prefix sharing, cancellation, tool errors, overload and supervision.
#include "actors/runtime.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <set>
#include <thread>

#include "actors/calculator.h"

namespace agentrt::actors {
namespace {

using namespace std::chrono_literals;

const char* kSystem =
    "You solve arithmetic word problems. Use the calculator tool for every operation, then "
    "give the final line as 'Answer: N'.";
const char* kProblems[] = {
    "Sam has 13 stamps. Kate has 7 more stamps than Sam. Rosa has 4 coins. How many stamps "
    "does Kate have?",
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

void wait_idle(Runtime& rt) {
  for (int i = 0; i < 500 && rt.metrics().active_requests > 0; ++i)
    std::this_thread::sleep_for(10ms);
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
  auto o = options();
  o.tools.clear();
  auto rt = make_runtime(o);
  ASSERT_TRUE(rt);
  ASSERT_TRUE(rt->add_tool(std::make_shared<SlowCalculator>(400ms, 5s)).ok());
  std::atomic<bool> in_tool{false};
  auto fut = std::async(std::launch::async, [&] {
    return rt->run_agent(solver(2), kProblems[0], [&](const Progress& p) {
      if (p.kind == ProgressKind::tool_call) in_tool = true;
    });
  });
  std::int64_t max_pinned = 0;
  while (fut.wait_for(5ms) != std::future_status::ready) {
    if (in_tool) max_pinned = std::max(max_pinned, rt->metrics().kv.pinned_blocks);
  }
  auto r = fut.get();
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_GT(max_pinned, 0) << "the paused turn's blocks are pinned during the tool call";
  wait_idle(*rt);
  EXPECT_EQ(rt->metrics().kv.pinned_blocks, 0) << "pins are released on resume and at the end";
  EXPECT_EQ(rt->metrics().kv.pins_expired, 0);
}

TEST(Runtime, HangingToolTimesOutAndItsTtlExpires) {
  auto o = options();
  o.tools.clear();
  o.ttl.cold_start = 100ms;  // predicted duration before any measurement
  auto rt = make_runtime(o);
  ASSERT_TRUE(rt);
  ASSERT_TRUE(rt->add_tool(std::make_shared<SlowCalculator>(900ms, 400ms)).ok());
  auto r = rt->run_agent(solver(2), kProblems[0]);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_TRUE(has_tool_message(*r, "error: tool 'calculator' timed out after 400 ms"));
  EXPECT_GE(r->tool_errors, 1);
  EXPECT_GE(rt->metrics().kv.pins_expired, 1) << "the pin (TTL ~175 ms) lapsed during the hang";
  EXPECT_GE(rt->predicted_tool_duration("calculator"), 0ms);
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
  int finished = 0, stopped = 0;
  for (const auto& s : r->samples) {
    finished += s.finished ? 1 : 0;
    stopped += s.result.stop == StopReason::cancelled ? 1 : 0;
    EXPECT_TRUE(s.error.empty()) << s.error;
  }
  EXPECT_GE(finished, 1);
  EXPECT_LE(finished, 4);
  EXPECT_LE(finished + stopped, 4) << "early-stopped samples are not failures";
  ASSERT_GE(r->chosen, 0);
  ASSERT_TRUE(r->answer.has_value());
  EXPECT_GE(r->votes, 1);
  wait_idle(*rt);
  EXPECT_EQ(rt->metrics().kv.pinned_blocks, 0);
}

// Scores an answer: 1 when it is 20 (the right answer to kProblems[0]), else 0.
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
    return args.at("answer").get<std::string>() == "20" ? std::string("1") : std::string("0");
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
  int finished = 0;
  bool any_right = false;
  for (const auto& s : sc->samples) {
    finished += s.finished;
    any_right = any_right || (s.finished && s.answer == "20");
  }
  EXPECT_EQ(scorer->calls.load(), finished);
  if (any_right) {
    ASSERT_GE(sc->chosen, 0);
    EXPECT_EQ(sc->answer, "20") << "the scorer's favourite wins";
  }

  b.aggregation = Aggregation::verifier_agent;
  AgentSpec v = solver(1);
  v.name = "checker";
  v.tools.clear();
  v.system_prompt = "You check a proposed solution and reply CORRECT or WRONG.";
  v.sampling.max_tokens = 16;
  b.verifier = v;
  auto ve = rt->run_best_of(a, kProblems[0], b);
  ASSERT_TRUE(ve.ok()) << ve.error().to_string();
  for (const auto& s : ve->samples) {
    EXPECT_TRUE(s.error.empty()) << s.error;
    if (s.finished) {
      EXPECT_TRUE(s.score == 0.0 || s.score == 1.0);
    }
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
  ASSERT_TRUE(rt->add_tool(std::make_shared<SlowCalculator>(300ms, 5s)).ok());
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

TEST(Runtime, OverloadedWhenTheQueueIsFull) {
  auto o = options();
  o.tools.clear();
  o.max_pending_requests = 1;
  auto rt = make_runtime(o);
  ASSERT_TRUE(rt);
  ASSERT_TRUE(rt->add_tool(std::make_shared<SlowCalculator>(300ms, 5s)).ok());
  std::promise<void> in_tool;
  std::atomic<bool> once{false};
  auto first = std::async(std::launch::async, [&] {
    return rt->run_agent(solver(2), kProblems[0], [&](const Progress& p) {
      if (p.kind == ProgressKind::tool_call && !once.exchange(true)) in_tool.set_value();
    });
  });
  in_tool.get_future().get();
  auto second = rt->run_agent(solver(2), kProblems[1]);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, ErrorCode::overloaded);
  EXPECT_NE(second.error().message.find("max_pending_requests"), std::string::npos);
  auto r = first.get();
  EXPECT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_GE(rt->metrics().rejected_requests, 1);
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
