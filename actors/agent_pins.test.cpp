// The agent's pins across tool calls, end to end on the CPU with models/tiny-calc: the
// re-pin with the TTL of the calls a reply made (not of every tool the agent has), and the
// prefetch that re-pins lapsed blocks from the host tier before a call's predicted end.
// Pin expiry follows the engine's clock, which the tests move (TestClock).
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "actors/calculator.h"
#include "actors/runtime.h"

namespace agentrt::actors {
namespace {

using namespace std::chrono_literals;

const char* kSystem =
    "You solve arithmetic word problems. Use the calculator tool for every operation, then "
    "give the final line as 'Answer: N'.";
const char* kProblem =
    "Sam has 13 stamps. Kate has 7 more stamps than Sam. Rosa has 4 coins. How many stamps "
    "does Kate have?";
const char* kWarmUp =
    "Ali has 24 apples. Ben has half as many apples as Ali. How many apples does Ben have?";

RuntimeOptions options(const kv::Clock* clock) {
  RuntimeOptions o;
  o.model_dir = std::string(AGENTRT_SOURCE_DIR) + "/models/tiny-calc";
  o.kv_blocks = 256;
  o.cpu_threads = 2;
  o.actor_threads = 2;
  o.clock = clock;
  return o;
}

AgentSpec solver() {
  AgentSpec a;
  a.name = "solver";
  a.system_prompt = kSystem;
  a.tools = {"calculator"};
  a.sampling.temperature = 0.0f;
  a.sampling.max_tokens = 96;
  a.max_turns = 2;
  return a;
}

// One turn of max_tokens 1 on `input`, no tools: any engine work runs a step (which
// expires pins), and a long distinct input fills the pool.
AgentSpec one_token() {
  AgentSpec a;
  a.name = "filler";
  a.sampling.temperature = 0.0f;
  a.sampling.max_tokens = 1;
  a.max_turns = 1;
  return a;
}

Json calculator_parameters() {
  return Json::parse(R"json({"type": "object", "properties": {"expression":
      {"type": "string", "description": "The expression, e.g. 12 * (3 + 4)"}},
      "required": ["expression"]})json");
}

// The calculator, answering at once while open; once closed, calls wait until open().
class Valve final : public Tool {
 public:
  Valve() {
    spec_.name = "calculator";
    spec_.description =
        "Evaluate an integer arithmetic expression with + - * / and parentheses. Division "
        "must be exact.";
    spec_.parameters = calculator_parameters();
    spec_.timeout = std::chrono::minutes(10);
  }
  const ToolSpec& spec() const override { return spec_; }
  Result<std::string> invoke(const Json& args) override {
    {
      std::unique_lock lock(mu_);
      if (!open_) {
        ++blocked_;
        cv_.notify_all();
        cv_.wait(lock, [&] { return open_; });
      }
    }
    auto v = evaluate_expression(args.at("expression").get<std::string>());
    if (!v.ok()) return v.error();
    return std::to_string(*v);
  }
  void set_open(bool open) {
    std::lock_guard lock(mu_);
    open_ = open;
    cv_.notify_all();
  }
  void wait_blocked(int n) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return blocked_ >= n; });
  }

 private:
  ToolSpec spec_;
  std::mutex mu_;
  std::condition_variable cv_;
  int blocked_ = 0;
  bool open_ = true;
};

// Opens the valve when the test ends, before the Runtime (declared earlier) waits for jobs.
struct OpenAtEnd {
  std::shared_ptr<Valve> valve;
  ~OpenAtEnd() { valve->set_open(true); }
};

// A tool the agent is given and tiny-calc never calls: its prediction stays cold.
class Lookup final : public Tool {
 public:
  Lookup() {
    spec_.name = "lookup";
    spec_.description = "Look up a word in the dictionary.";
    spec_.parameters = Json::parse(R"json({"type": "object", "properties": {"word":
        {"type": "string"}}, "required": ["word"]})json");
  }
  const ToolSpec& spec() const override { return spec_; }
  Result<std::string> invoke(const Json&) override { return std::string("no entry"); }

 private:
  ToolSpec spec_;
};

class TestClock final : public kv::Clock {
 public:
  kv::TimePoint now() const override { return kv::TimePoint(kv::Duration(ns_.load())); }
  void advance(kv::Duration d) { ns_ += d.count(); }

 private:
  std::atomic<std::int64_t> ns_{1};
};

template <class Pred>
bool wait_metrics(Runtime& rt, Pred pred) {
  for (int i = 0; i < 60000; ++i) {  // a hang guard, not a deadline: ~60 s
    if (pred(rt.metrics())) return true;
    std::this_thread::sleep_for(1ms);
  }
  return false;
}

std::unique_ptr<Runtime> make_runtime(RuntimeOptions o) {
  auto rt = Runtime::create(std::move(o));
  EXPECT_TRUE(rt.ok()) << rt.error().to_string();
  return rt.ok() ? std::move(*rt) : nullptr;
}

// The turn starts pinned for the slowest of the agent's tools (lookup: a cold 1 h); once
// the reply shows it called only the calculator (measured fast), the agent re-pins with
// the calculator's TTL, so 10 s on the engine's clock lapse the pin.
TEST(AgentPins, AReplysCallsSetItsTtlNotEveryToolOfTheAgent) {
  TestClock clock;
  auto o = options(&clock);
  o.ttl.cold_start = 1h;
  o.ttl.max_ttl = 2h;
  o.ttl.min_samples = 1;
  auto rt = make_runtime(o);
  ASSERT_TRUE(rt);
  auto valve = std::make_shared<Valve>();
  OpenAtEnd opener{valve};
  ASSERT_TRUE(rt->add_tool(valve).ok());
  ASSERT_TRUE(rt->add_tool(std::make_shared<Lookup>()).ok());
  auto warm = rt->run_agent(solver(), kWarmUp);  // measures the calculator
  ASSERT_TRUE(warm.ok()) << warm.error().to_string();
  ASSERT_GE(warm->tool_calls, 1);
  ASSERT_LT(rt->predicted_tool_duration("calculator"), 1s);
  ASSERT_EQ(rt->predicted_tool_duration("lookup"), 1h);
  ASSERT_TRUE(wait_metrics(*rt, [](const RuntimeMetrics& m) { return m.active_requests == 0; }));

  valve->set_open(false);
  const kv::KvMetrics before = rt->metrics().kv;
  AgentSpec a = solver();
  a.tools = {"calculator", "lookup"};
  std::promise<Result<AgentResult>> done;
  ASSERT_TRUE(rt->start_agent(a, kProblem, {}, [&](Result<AgentResult> r) {
                  done.set_value(std::move(r));
                }).ok());
  valve->wait_blocked(1);
  // The pause's pin, then the re-pin for the calculator's call.
  ASSERT_TRUE(wait_metrics(*rt, [&](const RuntimeMetrics& m) {
    return m.kv.pins_created >= before.pins_created + 2 && m.kv.pinned_blocks > 0;
  })) << "tiny-calc called lookup, or the agent did not re-pin";
  EXPECT_EQ(rt->metrics().kv.pins_expired, before.pins_expired);
  clock.advance(10s);  // far below the turn's first TTL (1.25 h), far above the calculator's
  ASSERT_TRUE(rt->run_agent(one_token(), kWarmUp).ok());
  EXPECT_TRUE(wait_metrics(*rt, [&](const RuntimeMetrics& m) {
    return m.kv.pins_expired >= before.pins_expired + 1;
  })) << "the pin kept the TTL of every tool of the agent";
  valve->set_open(true);
  auto r = done.get_future().get();
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_GE(r->tool_calls, 1);
}

// Distinct text of about `tokens` tokens (tiny-calc's tokenizer splits digits).
std::string filler_text(const Runtime& rt, std::size_t tokens) {
  std::string s;
  for (int i = 0; rt.tokenizer().encode(s, false).size() < tokens; ++i)
    s += "Item " + std::to_string(7919 + i * 37) + " weighs " + std::to_string(i) + ". ";
  return s;
}

// The turn's pin lapses while its call runs, and other work pushes its blocks out to the
// host tier; shortly before the call's predicted end the agent re-pins, which copies them
// back to the device before the tool answers. (On a pool this small the re-pin for the call
// already drops the pin: recomputing tiny-calc's context is cheaper than holding a third of
// the pool. The engine's clock also jumps past any pin.)
TEST(AgentPins, APrefetchBringsLapsedBlocksBackBeforeTheToolEnds) {
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__) || !defined(NDEBUG)
  // Sanitized and unoptimized builds: the filler must still run before the prefetch fires.
  constexpr auto kPredicted = 30s;
#else
  constexpr auto kPredicted = 6s;
#endif
  TestClock clock;
  auto o = options(&clock);
  o.kv_blocks = 48;
  o.host_tier_bytes = std::size_t{64} << 20;
  o.ttl.cold_start = kPredicted;
  o.ttl.min_samples = 1000;  // the calculator's prediction stays kPredicted
  auto rt = make_runtime(o);
  ASSERT_TRUE(rt);
  auto valve = std::make_shared<Valve>();
  OpenAtEnd opener{valve};
  valve->set_open(false);
  ASSERT_TRUE(rt->add_tool(valve).ok());
  const std::string filler = filler_text(*rt, 44 * 16);  // of a pool of 48 blocks
  std::promise<Result<AgentResult>> done;
  const auto started = std::chrono::steady_clock::now();
  ASSERT_TRUE(rt->start_agent(solver(), kProblem, {}, [&](Result<AgentResult> r) {
                  done.set_value(std::move(r));
                }).ok());
  valve->wait_blocked(1);
  ASSERT_TRUE(wait_metrics(*rt, [](const RuntimeMetrics& m) { return m.paused_requests == 1; }));
  clock.advance(1h);
  auto f = rt->run_agent(one_token(), filler);
  ASSERT_TRUE(f.ok()) << f.error().to_string();
  EXPECT_TRUE(wait_metrics(*rt, [](const RuntimeMetrics& x) { return x.kv.offloaded_blocks > 0; }))
      << "the lapsed blocks were not evicted to the host tier";
  const auto m = rt->metrics().kv;
  ASSERT_LT(std::chrono::steady_clock::now() - started, kPredicted * 3 / 4)
      << "the turn and the filler ran too slowly to come before the prefetch";
  EXPECT_EQ(m.prefetched_blocks, 0);
  EXPECT_TRUE(wait_metrics(*rt, [](const RuntimeMetrics& x) {
    return x.kv.prefetched_blocks > 0 && x.kv.pinned_blocks > 0;
  })) << "no prefetch from the host tier before the call's predicted end";
  valve->set_open(true);
  auto r = done.get_future().get();
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_GE(r->tool_calls, 1);
  EXPECT_GT(r->cached_tokens, 0) << "the resumed turn found its prefetched prefix";
}

}  // namespace
}  // namespace agentrt::actors
