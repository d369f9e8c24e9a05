// The three orders measured on agentic workloads in SchedulerSim: programs of several turns
// with tool pauses (a few long ones among many short ones, as in SWE-style agent traffic),
// arriving at random over a KV pool that holds a fraction of them. Prints mean and p90
// program completion time (steps from arrival to the end of its last turn) per order and
// load, and checks that Order::attained (the default) is at least as good as Order::program
// on the mean, its p90 within 10%. Scale: tokens are ~1/32 of real programs,
// attained_base_tokens likewise (64 here, 2048 by default). Measured (20 seeds, mean/p90):
//   gap 4:  fcfs 268/941  program 422/817  attained 180/778
//   gap 8:  fcfs 248/849  program 381/746  attained 168/725
//   gap 16: fcfs 196/641  program 263/552  attained 139/582
// With 6 levels attained's mean was 210/195/160 and its p90 893/845/698; with continuing
// turns ranked above the level, 461/403/292: worse than program.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "engine/scheduler/scheduler_sim.h"

namespace agentrt::scheduler {
namespace {

using testing::SchedulerSim;
using testing::SimConfig;
using testing::SimRequest;

int uniform(std::mt19937_64& rng, int lo, int hi) {
  return std::uniform_int_distribution<int>(lo, hi)(rng);
}

// n programs, one in five long; gaps between arrivals uniform in [0, 2 * mean_gap].
std::vector<SimRequest> agentic_workload(std::uint64_t seed, int n, int mean_gap) {
  std::mt19937_64 rng(seed);
  std::vector<SimRequest> out;
  int arrival = 0;
  for (int i = 1; i <= n; ++i) {
    arrival += uniform(rng, 0, 2 * mean_gap);
    SimRequest r;
    r.id = i;
    r.arrival_step = arrival;
    const bool long_program = uniform(rng, 0, 4) == 0;
    r.turns = long_program ? uniform(rng, 4, 8) : uniform(rng, 1, 2);
    r.max_tokens = long_program ? uniform(rng, 16, 48) : uniform(rng, 4, 16);
    r.tool_steps = uniform(rng, 2, 20);
    r.tool_tokens = uniform(rng, 8, 32);
    const int len = long_program ? uniform(rng, 96, 192) : uniform(rng, 24, 64);
    for (int p = 0; p < len; ++p)  // a shared system prompt, then the task
      r.prompt.push_back(p < 16 ? p : uniform(rng, 16, 900));
    out.push_back(std::move(r));
  }
  return out;
}

struct Jct {
  double mean = 0;
  double p90 = 0;
  double makespan = 0;
  std::int64_t preemptions = 0;
};

Jct measure(Order order, int mean_gap, int seeds) {
  Jct total;
  for (int s = 0; s < seeds; ++s) {
    SimConfig cfg;
    cfg.options.order = order;
    cfg.options.max_tokens_per_step = 64;
    cfg.options.max_running = 16;
    cfg.options.attained_base_tokens = 64;
    cfg.num_blocks = 48;  // 768 tokens: two or three long programs at once
    cfg.block_size = 16;
    cfg.swap_blocks = 64;
    const auto reqs = agentic_workload(static_cast<std::uint64_t>(s) + 1, 48, mean_gap);
    SchedulerSim sim(cfg);
    const std::string err = sim.run(reqs, 200000);
    EXPECT_EQ(err, "") << to_string(order) << " seed " << s;
    std::vector<double> jct;
    for (const auto& r : reqs) {
      const auto& t = sim.traces().at(r.id);
      if (t.finish_step) jct.push_back(*t.finish_step - r.arrival_step);
    }
    if (jct.empty()) continue;
    std::sort(jct.begin(), jct.end());
    double sum = 0;
    for (double j : jct)
      sum += j;
    total.mean += sum / static_cast<double>(jct.size()) / seeds;
    total.p90 += jct[jct.size() * 9 / 10] / seeds;
    total.makespan += static_cast<double>(sim.steps()) / seeds;
    total.preemptions += sim.scheduler().preemptions();
  }
  return total;
}

// 8 seeds here (the figures above used 20: AGENTRT_SIM_SEEDS=20 reruns them).
TEST(SchedulerOrder, AttainedServiceCutsMeanProgramCompletionOnAgenticLoad) {
  const char* env = std::getenv("AGENTRT_SIM_SEEDS");
  const int kSeeds = env ? std::max(1, std::atoi(env)) : 8;
  std::printf("%-9s %4s %10s %10s %10s %6s\n", "order", "gap", "mean_jct", "p90_jct", "makespan",
              "preempt");
  for (int gap : {4, 8, 16}) {
    Jct by[3];
    for (Order o : {Order::fcfs, Order::program, Order::attained}) {
      const Jct j = measure(o, gap, kSeeds);
      by[static_cast<int>(o)] = j;
      std::printf("%-9s %4d %10.1f %10.1f %10.1f %6lld\n", to_string(o), gap, j.mean, j.p90,
                  j.makespan, static_cast<long long>(j.preemptions));
    }
    const Jct& att = by[static_cast<int>(Order::attained)];
    const Jct& prog = by[static_cast<int>(Order::program)];
    EXPECT_LE(att.mean, prog.mean) << "gap " << gap;
    EXPECT_LE(att.p90, 1.1 * prog.p90) << "gap " << gap;  // long programs pay little
  }
}

}  // namespace
}  // namespace agentrt::scheduler
