// Scheduler unit tests on hand-built cases: admission order (FCFS programs, program
// priority, fcfs turns, attained service), the choice of victim for preemption, and swap
// versus recompute.
#include "engine/scheduler/scheduler.h"

#include <gtest/gtest.h>

#include <numeric>

#include "engine/scheduler/scheduler_sim.h"

namespace agentrt::scheduler {
namespace {

using testing::SchedulerSim;
using testing::SimConfig;
using testing::SimRequest;

std::vector<std::int32_t> prompt(int n, int from) {
  std::vector<std::int32_t> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), from);
  return v;
}

std::vector<SeqId> chunk_seqs(const StepSchedule& plan) {
  std::vector<SeqId> out;
  for (const auto& ch : plan.chunks)
    out.push_back(ch.seq);
  return out;
}

TEST(Scheduler, AdmitsNewProgramsInArrivalOrder) {
  SimConfig cfg;
  cfg.options.max_running = 1;
  cfg.num_blocks = 64;
  SchedulerSim sim(cfg);
  for (SeqId id = 1; id <= 4; ++id)
    sim.arrive({id, 0, prompt(5, static_cast<int>(id) * 100), 3});
  std::vector<SeqId> started;
  for (int i = 0; i < 100 && sim.steps() < 100; ++i) {
    ASSERT_EQ(sim.step(), "");
    for (const auto& ch : sim.last_plan().chunks) {
      if (ch.start == 0) started.push_back(ch.seq);
    }
    if (started.size() == 4 && !sim.live(4)) break;
  }
  EXPECT_EQ(started, (std::vector<SeqId>{1, 2, 3, 4}));
  for (SeqId id = 1; id < 4; ++id) {
    EXPECT_LT(*sim.traces().at(id).finish_step, *sim.traces().at(id + 1).first_chunk_step);
  }
}

// Drives a Scheduler directly (no sim) where the test controls programs and turns.
struct Direct {
  explicit Direct(SchedulerOptions opt, int blocks = 64, std::size_t swap_blocks = 0)
      : mem(blocks, 4) {
    auto m = kv::KvManager::create({blocks, 4, "fp", true, swap_blocks * mem.block_bytes()},
                                   {&mem, &clock, {}, nullptr});
    EXPECT_TRUE(m.ok());
    kv = std::move(*m);
    sched = std::make_unique<Scheduler>(opt, *kv);
  }
  // Commits every chunk of the plan, appending one token to sequences that reached the end.
  void run(const StepSchedule& plan) {
    for (const auto& ch : plan.chunks) {
      auto& t = *tokens.at(ch.seq);
      auto part = std::span(t).subspan(static_cast<std::size_t>(ch.start),
                                       static_cast<std::size_t>(ch.count));
      mem.write_tokens(kv->block_table(ch.seq), static_cast<std::size_t>(ch.start), part);
      ASSERT_TRUE(kv->commit(ch.seq, part).ok());
      if (ch.start + ch.count == std::ssize(t)) t.push_back(7);
    }
  }
  std::vector<std::int32_t>& seq(SeqId id, int n) {
    auto& v = tokens[id];
    v = std::make_unique<std::vector<std::int32_t>>(prompt(n, static_cast<int>(id) * 100));
    return *v;
  }
  kv::testing::FakeBlockMemory mem;
  kv::FakeClock clock;
  std::unique_ptr<kv::KvManager> kv;
  std::unique_ptr<Scheduler> sched;
  std::map<SeqId, std::unique_ptr<std::vector<std::int32_t>>> tokens;
};

TEST(Scheduler, TurnOfALiveProgramGoesAheadOfANewProgram) {
  SchedulerOptions opt;
  opt.order = Order::program;
  opt.max_tokens_per_step = 8;
  Direct d(opt);
  d.sched->add(1, /*program=*/10, &d.seq(1, 8));
  auto plan = d.sched->schedule();  // 1 prefills its 8 tokens: the whole budget
  EXPECT_EQ(chunk_seqs(plan), (std::vector<SeqId>{1}));
  d.run(plan);
  d.sched->add(2, /*program=*/20, &d.seq(2, 7));  // a new program, first in line by arrival
  d.sched->add(3, /*program=*/10, &d.seq(3, 7));  // a second turn of the running program
  plan = d.sched->schedule();  // decode of 1 (1 token), then 7 tokens: room for one only
  EXPECT_EQ(chunk_seqs(plan), (std::vector<SeqId>{1, 3}));
}

TEST(Scheduler, ContinuingTurnGoesAheadOfANewProgram) {
  SchedulerOptions opt;
  opt.order = Order::program;
  opt.max_tokens_per_step = 8;
  opt.max_running = 1;
  Direct d(opt);
  d.sched->add(1, 10, &d.seq(1, 8));
  d.sched->add(2, 20, &d.seq(2, 8));
  d.sched->add(3, 30, &d.seq(3, 8), /*continuing=*/true);  // e.g. a resumed tool call
  EXPECT_EQ(chunk_seqs(d.sched->schedule()), (std::vector<SeqId>{3}));
}

// Three sequences of 8 tokens (+1 sampled) fill 6 blocks of 4; each decode then needs a
// third block. The oldest grows first and must take the newest program's blocks.
struct Crowded {
  explicit Crowded(bool swap, std::size_t swap_blocks) : d(options(swap), 6, swap_blocks) {
    for (SeqId id = 1; id <= 3; ++id)
      d.sched->add(id, id, &d.seq(id, 8));
    auto plan = d.sched->schedule();
    EXPECT_EQ(chunk_seqs(plan), (std::vector<SeqId>{1, 2, 3}));
    d.run(plan);
    EXPECT_EQ(d.kv->available_blocks(), 0);
  }
  static SchedulerOptions options(bool swap) {
    SchedulerOptions o;
    o.order = Order::program;
    o.swap_preemption = swap;
    return o;
  }
  Direct d;
};

TEST(Scheduler, PreemptsTheLowestPriorityRunningSequence) {
  Crowded c(true, 16);
  const auto plan = c.d.sched->schedule();
  EXPECT_EQ(chunk_seqs(plan), (std::vector<SeqId>{1, 2}));
  EXPECT_EQ(plan.swapped_out, (std::vector<SeqId>{3}));
  EXPECT_TRUE(plan.recomputed.empty());
}

TEST(Scheduler, SwapPreemptionSwapsAndResumesWithoutRecompute) {
  Crowded c(true, 16);
  auto plan = c.d.sched->schedule();
  ASSERT_EQ(plan.swapped_out, (std::vector<SeqId>{3}));
  EXPECT_TRUE(c.d.kv->swapped_out(3));
  EXPECT_EQ(c.d.kv->computed(3), 8);  // its KV is kept, in swap space
  EXPECT_EQ(c.d.kv->metrics().swapped_out_blocks, 2);
  EXPECT_EQ(c.d.sched->preemptions(), 1);
  EXPECT_EQ(c.d.sched->swap_preemptions(), 1);
  c.d.run(plan);
  c.d.sched->remove(1);  // 1 finishes: its 3 blocks come back
  c.d.kv->release(1);
  plan = c.d.sched->schedule();
  ASSERT_EQ(chunk_seqs(plan), (std::vector<SeqId>{2, 3}));
  EXPECT_EQ(plan.chunks[1].start, 8);  // swapped in, not recomputed from the start
  EXPECT_EQ(c.d.kv->metrics().swapped_in_blocks, 2);
  EXPECT_TRUE(c.d.mem.holds(c.d.kv->block_table(3), std::span(*c.d.tokens.at(3)).first(8)));
}

TEST(Scheduler, SwapFallsBackToRecomputeWhenSwapSpaceIsShortAndSaysSo) {
  Crowded c(true, 1);  // the victim needs 2 blocks of swap space
  const auto plan = c.d.sched->schedule();
  EXPECT_TRUE(plan.swapped_out.empty());
  EXPECT_EQ(plan.recomputed, (std::vector<SeqId>{3}));
  EXPECT_FALSE(c.d.kv->contains(3));
  EXPECT_EQ(c.d.sched->preemptions(), 1);
  EXPECT_EQ(c.d.sched->swap_preemptions(), 0);
}

TEST(Scheduler, RecomputePreemptionDropsTheVictimsKv) {
  Crowded c(false, 16);
  const auto plan = c.d.sched->schedule();
  EXPECT_EQ(plan.recomputed, (std::vector<SeqId>{3}));
  EXPECT_EQ(c.d.kv->metrics().swapped_out_blocks, 0);
  EXPECT_EQ(c.d.sched->swap_preemptions(), 0);
}

TEST(Scheduler, OrdersHaveNames) {
  for (Order o : {Order::fcfs, Order::program, Order::attained})
    EXPECT_EQ(*parse_order(to_string(o)), o);
  EXPECT_FALSE(parse_order("lifo").ok());
}

// Turn 1 of program 10 pauses (a tool call); program 20 arrives; then turn 1 resumes.
std::vector<SeqId> after_a_tool_call(Order order) {
  SchedulerOptions opt;
  opt.order = order;
  opt.max_running = 1;
  Direct d(opt);
  d.sched->add(1, 10, &d.seq(1, 8));
  d.run(d.sched->schedule());
  d.sched->pause(1);
  d.kv->release(1);
  d.sched->add(2, 20, &d.seq(2, 8));
  d.sched->resume(1);
  return chunk_seqs(d.sched->schedule());
}

TEST(Scheduler, FcfsRanksAResumedTurnAsANewArrival) {
  EXPECT_EQ(after_a_tool_call(Order::fcfs), (std::vector<SeqId>{2}));
  EXPECT_EQ(after_a_tool_call(Order::program), (std::vector<SeqId>{1}));
  EXPECT_EQ(after_a_tool_call(Order::attained), (std::vector<SeqId>{1}));  // both level 0
}

TEST(Scheduler, FcfsHasNoProgramClasses) {
  SchedulerOptions opt;
  opt.order = Order::fcfs;
  opt.max_tokens_per_step = 8;
  Direct d(opt);
  d.sched->add(1, 10, &d.seq(1, 8));
  d.run(d.sched->schedule());
  d.sched->add(2, 20, &d.seq(2, 7));  // a new program, first by arrival
  d.sched->add(3, 10, &d.seq(3, 7));  // a second turn of the running program
  EXPECT_EQ(chunk_seqs(d.sched->schedule()), (std::vector<SeqId>{1, 2}));
}

SchedulerOptions attained_options() {
  SchedulerOptions opt;
  opt.order = Order::attained;
  opt.attained_base_tokens = 8;
  return opt;
}

// Program 1 computes a turn of 12 tokens (level 1 of base 8) that ends.
void serve_program_one(Direct& d) {
  d.sched->add(11, 1, &d.seq(11, 12));
  d.run(d.sched->schedule());
  d.sched->remove(11);
  d.kv->release(11);
}

TEST(Scheduler, AttainedCountsComputedTokensAndRemembersEndedPrograms) {
  Direct d(attained_options());
  serve_program_one(d);
  EXPECT_EQ(d.sched->attained(1), 12);  // kept after its last turn ended
  EXPECT_EQ(d.sched->level(7), 0);
  EXPECT_EQ(d.sched->level(8), 1);
  EXPECT_EQ(d.sched->level(16), 2);
  EXPECT_EQ(d.sched->level(1 << 20), 2);  // attained_levels 3
  auto& again = d.tokens[12];  // the same prompt again: its cached prefix is not computed
  again = std::make_unique<std::vector<std::int32_t>>(prompt(12, 1100));
  d.sched->add(12, 1, again.get());
  const auto plan = d.sched->schedule();
  ASSERT_EQ(plan.chunks.size(), 1u);
  EXPECT_GT(plan.chunks[0].start, 0);
  EXPECT_EQ(d.sched->attained(1), 12 + plan.chunks[0].count);
}

TEST(Scheduler, AttainedAdmitsTheLeastServedProgramFirst) {
  for (Order order : {Order::attained, Order::program}) {
    SchedulerOptions opt = attained_options();
    opt.order = order;
    opt.max_running = 1;
    Direct d(opt);
    serve_program_one(d);
    d.sched->add(1, 1, &d.seq(1, 8));  // program 1's next turn (a workflow's next step)
    d.sched->add(2, 2, &d.seq(2, 8));  // a new program
    const SeqId first = order == Order::attained ? 2 : 1;
    EXPECT_EQ(chunk_seqs(d.sched->schedule()), (std::vector<SeqId>{first})) << to_string(order);
  }
}

TEST(Scheduler, AttainedPreemptsTheMostServedProgram) {
  Direct d(attained_options(), 6, 16);
  serve_program_one(d);
  for (SeqId id = 1; id <= 3; ++id)
    d.sched->add(id, id, &d.seq(id, 8));
  auto plan = d.sched->schedule();
  ASSERT_EQ(chunk_seqs(plan), (std::vector<SeqId>{2, 3, 1}));  // program 1 ranks last
  d.run(plan);
  plan = d.sched->schedule();  // every decode needs a third block: none is free
  EXPECT_EQ(chunk_seqs(plan), (std::vector<SeqId>{2, 3}));
  EXPECT_EQ(plan.swapped_out, (std::vector<SeqId>{1}));  // Order::program would swap 3
}

// Program 1 (level 1) waits behind program 2 for `steps` steps, then program 3 (level 0)
// arrives; 2 ends. Returns who goes next.
std::vector<SeqId> after_waiting(int steps, int starvation_steps) {
  SchedulerOptions opt = attained_options();
  opt.max_running = 1;
  opt.starvation_steps = starvation_steps;
  Direct d(opt);
  serve_program_one(d);
  d.sched->add(1, 1, &d.seq(1, 8));
  d.sched->add(2, 2, &d.seq(2, 4));
  for (int i = 0; i < steps; ++i) {
    auto plan = d.sched->schedule();
    EXPECT_EQ(chunk_seqs(plan), (std::vector<SeqId>{2}));
    d.run(plan);
  }
  d.sched->add(3, 3, &d.seq(3, 8));
  d.sched->remove(2);
  d.kv->release(2);
  return chunk_seqs(d.sched->schedule());
}

TEST(Scheduler, AttainedLetsAStarvedTurnGoFirst) {
  EXPECT_EQ(after_waiting(3, 1000), (std::vector<SeqId>{3}));
  EXPECT_EQ(after_waiting(3, 3), (std::vector<SeqId>{1}));  // level 0, the oldest program
}

}  // namespace
}  // namespace agentrt::scheduler
