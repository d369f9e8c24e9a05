// Scheduler programs set by the Runtime (AgentSpec::program): every request of a job
// carries the job's program, a best-of's samples share it, an explicit program is kept,
// and the Runtime's programs never look like engine request ids. Observed at the engine
// actor's door (RuntimeOptions::on_generate), on the CPU with tiny-calc.
#include <gtest/gtest.h>

#include <mutex>
#include <set>
#include <vector>

#include "actors/runtime.h"

namespace agentrt::actors {
namespace {

// The programs of the requests sent to the engine, in order (0: none set).
struct Tap {
  std::mutex mu;
  std::vector<std::int64_t> programs;
  std::vector<std::int64_t> take() {
    std::lock_guard lk(mu);
    return std::exchange(programs, {});
  }
};

std::unique_ptr<Runtime> make_runtime(Tap& tap) {
  RuntimeOptions o;
  o.model_dir = std::string(AGENTRT_SOURCE_DIR) + "/models/tiny-calc";
  o.kv_blocks = 256;
  o.cpu_threads = 2;
  o.actor_threads = 2;
  o.tools.push_back(ToolConfig{});  // calculator
  o.on_generate = [&tap](const EngineRequest& r) {
    std::lock_guard lk(tap.mu);
    tap.programs.push_back(r.program.value_or(0));
  };
  auto rt = Runtime::create(std::move(o));
  EXPECT_TRUE(rt.ok()) << rt.error().to_string();
  return rt.ok() ? std::move(*rt) : nullptr;
}

AgentSpec solver() {
  AgentSpec a;
  a.system_prompt = "Use the calculator tool, then give the final line as 'Answer: N'.";
  a.tools = {"calculator"};
  a.sampling.temperature = 0.0f;
  a.sampling.max_tokens = 64;
  a.max_turns = 4;
  return a;
}

const char* kProblem = "Sam has 13 stamps. Kate has 7 more. How many stamps does Kate have?";

TEST(RuntimePrograms, EachJobsRequestsCarryItsOwnProgram) {
  Tap tap;
  auto rt = make_runtime(tap);
  ASSERT_TRUE(rt);
  ASSERT_TRUE(rt->run_agent(solver(), kProblem).ok());
  const auto first = tap.take();
  ASSERT_TRUE(rt->run_agent(solver(), kProblem).ok());
  const auto second = tap.take();
  ASSERT_FALSE(first.empty());
  ASSERT_FALSE(second.empty());
  EXPECT_EQ(std::set(first.begin(), first.end()).size(), 1u);
  EXPECT_EQ(std::set(second.begin(), second.end()).size(), 1u);
  EXPECT_LT(first[0], 0);  // a Runtime program, never an engine request id
  EXPECT_NE(first[0], second[0]);
}

TEST(RuntimePrograms, AnExplicitProgramIsKeptAcrossJobs) {
  Tap tap;
  auto rt = make_runtime(tap);
  ASSERT_TRUE(rt);
  AgentSpec a = solver();
  a.program = rt->new_program();
  ASSERT_TRUE(rt->run_agent(a, kProblem).ok());
  ASSERT_TRUE(rt->run_agent(a, "Ali has 24 apples and eats 4. How many are left?").ok());
  const auto seen = tap.take();
  ASSERT_GE(seen.size(), 2u);
  for (std::int64_t p : seen)
    EXPECT_EQ(p, *a.program);
}

TEST(RuntimePrograms, BestOfSamplesShareTheJobsProgram) {
  Tap tap;
  auto rt = make_runtime(tap);
  ASSERT_TRUE(rt);
  BestOfSpec b;
  b.n = 3;
  AgentSpec a = solver();
  a.sampling.temperature = 0.8f;
  auto r = rt->run_best_of(a, kProblem, b);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  const auto seen = tap.take();
  ASSERT_FALSE(seen.empty());  // the probe; the samples start from it with its program
  EXPECT_EQ(std::set(seen.begin(), seen.end()).size(), 1u);
  EXPECT_LT(seen[0], 0);
}

TEST(RuntimePrograms, NewProgramsAndKeyProgramsAreDistinctAndNegative) {
  Tap tap;
  auto rt = make_runtime(tap);
  ASSERT_TRUE(rt);
  const std::int64_t a = rt->new_program(), b = rt->new_program();
  EXPECT_NE(a, b);
  EXPECT_LT(a, 0);
  EXPECT_GT(a, -(std::int64_t{1} << 62));  // apart from the keys' range
  const std::int64_t k = Runtime::program_of_key("s:session-1");
  EXPECT_EQ(k, Runtime::program_of_key("s:session-1"));
  EXPECT_NE(k, Runtime::program_of_key("s:session-2"));
  EXPECT_LE(k, -(std::int64_t{1} << 62));
}

}  // namespace
}  // namespace agentrt::actors
