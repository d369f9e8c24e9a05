// Scheduler property tests, for each Order: seeded random arrivals, prompt lengths,
// max_tokens, turns with tool pauses, pool sizes, step budgets and swap space, run through
// SchedulerSim (which checks every step that chunks start at the computed position, read
// back their own tokens, stay in budget, and that each victim ranks below every running
// sequence left unscheduled). Here, per run: everything finishes; new programs start in
// arrival order; no request waits longer than the work that could go before it; with ample
// swap space every preemption swaps, and a swapped-in sequence resumes where it stopped.
#include <gtest/gtest.h>

#include <random>

#include "engine/scheduler/scheduler_sim.h"

namespace agentrt::scheduler {
namespace {

using testing::SchedulerSim;
using testing::SimConfig;
using testing::SimRequest;

constexpr int kRuns = 400;

struct Case {
  SimConfig cfg;
  std::vector<SimRequest> requests;  // in arrival order, ids 1..n
};

int uniform(std::mt19937_64& rng, int lo, int hi) {
  return std::uniform_int_distribution<int>(lo, hi)(rng);
}

// A random workload in which every request fits the pool alone (the Engine refuses others).
Case random_case(std::uint64_t seed, bool swap, bool ample_swap, Order order) {
  std::mt19937_64 rng(seed);
  Case c;
  c.cfg.options.order = order;
  c.cfg.options.attained_base_tokens = 8;  // levels that these small programs reach
  c.cfg.block_size = std::array{1, 2, 4, 8}[static_cast<std::size_t>(uniform(rng, 0, 3))];
  c.cfg.num_blocks = uniform(rng, 4, 32);
  c.cfg.options.max_tokens_per_step = uniform(rng, 1, 48);
  c.cfg.options.max_running = uniform(rng, 1, 12);
  c.cfg.options.swap_preemption = swap;
  const int capacity = c.cfg.num_blocks * c.cfg.block_size;
  const int n = uniform(rng, 1, 16);
  int arrival = 0;
  std::size_t all_blocks = 0;
  for (int i = 1; i <= n; ++i) {
    arrival += uniform(rng, 0, 4);
    SimRequest r;
    r.id = i;
    r.arrival_step = arrival;
    r.max_tokens = uniform(rng, 1, std::min(24, capacity - 1));
    // Later turns append tool_tokens and max_tokens each; the whole must fit the pool.
    r.turns = uniform(rng, 0, 2) == 0 ? uniform(rng, 2, 3) : 1;
    r.tool_steps = uniform(rng, 0, 6);
    r.tool_tokens = uniform(rng, 1, 4);
    const int later = (r.turns - 1) * (r.tool_tokens + r.max_tokens);
    if (capacity - r.max_tokens - later < 1) r.turns = 1;
    const int room = capacity - r.max_tokens - (r.turns - 1) * (r.tool_tokens + r.max_tokens);
    const int len = uniform(rng, 1, room);
    // Some prompts share a prefix (a system prompt), so prefix hits and cached blocks occur.
    const bool shared = uniform(rng, 0, 2) == 0;
    for (int p = 0; p < len; ++p)
      r.prompt.push_back(shared && p < 12 ? p : uniform(rng, 0, 500));
    all_blocks += static_cast<std::size_t>((room + r.max_tokens) / c.cfg.block_size + 1);
    c.requests.push_back(std::move(r));
  }
  c.cfg.swap_blocks =
      ample_swap ? all_blocks : static_cast<std::size_t>(uniform(rng, 0, c.cfg.num_blocks));
  return c;
}

// Steps a request may need once it is ahead of all others: its tokens, plus as many again
// for a recompute after preemption, plus a step for a swap-in, per turn, and its pauses.
int cost(const SimRequest& r) {
  const int tokens = static_cast<int>(std::ssize(r.prompt)) + (r.turns - 1) * r.tool_tokens +
                     r.turns * r.max_tokens;
  return r.turns * (2 * tokens + 2) + (r.turns - 1) * (r.tool_steps + 1);
}

struct Outcome {
  std::int64_t preemptions = 0;
  std::int64_t swaps = 0;
};

// Runs one case and checks the per-run properties; returns the scheduler's counters.
Outcome check_case(const Case& c, std::uint64_t seed) {
  SCOPED_TRACE("seed " + std::to_string(seed));
  SchedulerSim sim(c.cfg);
  int total = 0;
  for (const auto& r : c.requests)
    total += cost(r);
  const std::string err = sim.run(c.requests, c.requests.back().arrival_step + total);
  EXPECT_EQ(err, "");
  if (!err.empty()) return {};
  int earlier_work = 0;
  int last_start = -1;
  for (const auto& r : c.requests) {
    const auto& t = sim.traces().at(r.id);
    EXPECT_TRUE(t.first_chunk_step && t.finish_step) << "request " << r.id;
    if (!t.first_chunk_step || !t.finish_step) continue;
    // FCFS: a new program never starts before one that arrived earlier.
    EXPECT_GE(*t.first_chunk_step, last_start) << "request " << r.id << " jumped the queue";
    last_start = *t.first_chunk_step;
    // No starvation. Order::program: later arrivals cannot hold a request back beyond the
    // work before it. fcfs (a resumed turn arrives anew) and attained (less served programs
    // go first) may let later programs go first, but only those that came before its end.
    earlier_work += cost(r);
    int bound = earlier_work;
    if (c.cfg.options.order != Order::program) {
      bound = 0;
      for (const auto& o : c.requests)
        if (o.arrival_step <= *t.finish_step) bound += cost(o);
    }
    EXPECT_LE(*t.finish_step - r.arrival_step, bound) << "request " << r.id << " starved";
  }
  return {sim.scheduler().preemptions(), sim.scheduler().swap_preemptions()};
}

class SchedulerProperty : public ::testing::TestWithParam<Order> {};

TEST_P(SchedulerProperty, RandomWorkloadsWithAmpleSwapOnlySwap) {
  std::int64_t preemptions = 0;
  for (std::uint64_t seed = 0; seed < kRuns && !HasFailure(); ++seed) {
    const Outcome o = check_case(random_case(seed, true, true, GetParam()), seed);
    EXPECT_EQ(o.swaps, o.preemptions) << "seed " << seed << ": a swap fell back to recompute";
    preemptions += o.preemptions;
  }
  EXPECT_GT(preemptions, kRuns / 4);  // the workloads do exercise preemption
}

TEST_P(SchedulerProperty, RandomWorkloadsWithShortSwapSpace) {
  std::int64_t preemptions = 0, swaps = 0;
  for (std::uint64_t seed = 0; seed < kRuns && !HasFailure(); ++seed) {
    const Outcome o = check_case(random_case(1000 + seed, true, false, GetParam()), seed);
    preemptions += o.preemptions;
    swaps += o.swaps;
  }
  EXPECT_GT(swaps, 0);
  EXPECT_LT(swaps, preemptions);  // some fell back to recompute
}

TEST_P(SchedulerProperty, RandomWorkloadsWithRecomputeOnly) {
  std::int64_t preemptions = 0;
  for (std::uint64_t seed = 0; seed < kRuns && !HasFailure(); ++seed) {
    const Outcome o = check_case(random_case(2000 + seed, false, true, GetParam()), seed);
    EXPECT_EQ(o.swaps, 0) << "seed " << seed;
    preemptions += o.preemptions;
  }
  EXPECT_GT(preemptions, kRuns / 4);
}

INSTANTIATE_TEST_SUITE_P(Orders, SchedulerProperty,
                         ::testing::Values(Order::fcfs, Order::program, Order::attained),
                         [](const auto& p) { return std::string(to_string(p.param)); });

}  // namespace
}  // namespace agentrt::scheduler
