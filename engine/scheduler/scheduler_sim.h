// Test support: drives a Scheduler over a KvManager on FakeBlockMemory the way the Engine
// does (schedule, write the chunks' tokens, commit, sample at the end of a chunk that
// reaches the last known token), with requests of distinct programs arriving at given
// steps. A request of several turns pauses after each but the last (its KV pinned, as the
// Engine does for a tool call) and resumes tool_steps later with tool_tokens appended.
// It records what happened to each request and checks, every step, the invariants the
// scheduler promises; a broken one ends the run with a message. Main thread.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "engine/kv/clock.h"
#include "engine/kv/fake_block_memory.h"
#include "engine/kv/kv_manager.h"
#include "engine/scheduler/scheduler.h"

namespace agentrt::scheduler::testing {

struct SimRequest {
  SeqId id = 0;  // also its program
  int arrival_step = 0;
  std::vector<std::int32_t> prompt;
  int max_tokens = 1;  // per turn
  int turns = 1;
  int tool_steps = 0;   // steps paused between turns
  int tool_tokens = 0;  // appended before each later turn
};

struct SimConfig {
  SchedulerOptions options;
  int num_blocks = 16;
  int block_size = 4;
  std::size_t swap_blocks = 0;  // host swap space, in blocks
};

// What happened to one request.
struct SimTrace {
  std::optional<int> first_chunk_step;  // first step it computed anything
  std::optional<int> finish_step;       // the end of its last turn
  int preempted = 0;
  bool ever_preempted = false;
};

class SchedulerSim {
 public:
  explicit SchedulerSim(const SimConfig& cfg) : cfg_(cfg), mem_(cfg.num_blocks, cfg.block_size) {
    auto kv = kv::KvManager::create(
        {cfg.num_blocks, cfg.block_size, "sim", true, cfg.swap_blocks * mem_.block_bytes()},
        {&mem_, &clock_, {}, nullptr});
    if (kv.ok()) kv_ = std::move(*kv);
    sched_ = std::make_unique<Scheduler>(cfg.options, *kv_);
  }

  // Runs until every request finished or `max_steps` passed. Requests must be in arrival
  // order (ids increasing with arrival_step). Returns "" or the first broken invariant.
  std::string run(const std::vector<SimRequest>& requests, int max_steps) {
    std::size_t next = 0;
    while (step_ < max_steps) {
      while (next < requests.size() && requests[next].arrival_step <= step_)
        arrive(requests[next++]);
      resume_due();
      if (next == requests.size() && live_.empty()) return {};
      if (std::string err = step(); !err.empty()) return err;
    }
    return "not finished after " + std::to_string(max_steps) + " steps";
  }

  // Registers a request now. Ids must increase with arrival (the program order).
  void arrive(const SimRequest& r) {
    Live& l = live_[r.id];
    l.tokens = r.prompt;
    l.prompt_len = r.prompt.size();
    l.req = r;
    l.arrival = next_arrival_++;
    traces_[r.id];
    sched_->add(r.id, r.id, &l.tokens);
  }

  // One scheduler step, run as the Engine would. Returns "" or the broken invariant.
  std::string step() {
    std::string err = one_step();
    if (!err.empty()) err = "step " + std::to_string(step_) + ": " + err;
    ++step_;
    clock_.advance(std::chrono::milliseconds(1));
    return err;
  }

  const StepSchedule& last_plan() const { return plan_; }
  bool live(SeqId id) const { return live_.count(id) != 0; }
  int steps() const { return step_; }
  const std::map<SeqId, SimTrace>& traces() const { return traces_; }
  const Scheduler& scheduler() const { return *sched_; }
  const kv::KvManager& kv() const { return *kv_; }

 private:
  struct Live {
    std::vector<std::int32_t> tokens;
    std::size_t prompt_len = 0;  // of the current turn
    SimRequest req;
    int turn = 0;
    std::optional<int> resume_step;           // paused until then
    std::uint64_t arrival = 0;                // as Order::fcfs counts: a resumed turn arrives anew
    bool continuing = false;                  // resumed or preempted
    std::int64_t computed_when_swapped = -1;  // while swapped out
  };

  void resume_due() {
    for (auto& [id, l] : live_) {
      if (!l.resume_step || *l.resume_step > step_) continue;
      l.resume_step.reset();
      for (int i = 0; i < l.req.tool_tokens; ++i)
        l.tokens.push_back(static_cast<std::int32_t>((id * 31 + std::ssize(l.tokens)) % 997));
      l.prompt_len = l.tokens.size();
      l.arrival = next_arrival_++;
      l.continuing = true;
      sched_->resume(id);
    }
  }

  std::string one_step() {
    std::set<SeqId> running_before;
    attained_before_.clear();
    for (const auto& [id, l] : live_) {
      if (kv_->contains(id) && !kv_->swapped_out(id)) running_before.insert(id);
      attained_before_[id] = sched_->attained(id);
    }
    plan_ = sched_->schedule();
    const StepSchedule& plan = plan_;
    if (auto err = check_plan(plan, running_before); !err.empty()) return err;
    for (SeqId v : plan.swapped_out)
      note_preempted(v, true);
    for (SeqId v : plan.recomputed)
      note_preempted(v, false);
    for (const auto& ch : plan.chunks) {
      if (auto err = run_chunk(ch); !err.empty()) return err;
    }
    if (auto st = kv_->check_invariants(); !st.ok()) return st.error().to_string();
    return {};
  }

  void note_preempted(SeqId v, bool swapped) {
    SimTrace& t = traces_.at(v);
    ++t.preempted;
    t.ever_preempted = true;
    live_.at(v).continuing = true;
    live_.at(v).computed_when_swapped = swapped ? kv_->computed(v) : -1;
  }

  std::string check_plan(const StepSchedule& plan, const std::set<SeqId>& running_before) {
    std::int64_t tokens = 0;
    std::set<SeqId> in_chunks;
    for (const auto& ch : plan.chunks) {
      tokens += ch.count;
      if (!in_chunks.insert(ch.seq).second) return "two chunks for one sequence";
      if (ch.count <= 0) return "an empty chunk";
      if (ch.start != kv_->computed(ch.seq)) return "a chunk does not start at computed";
    }
    if (tokens > cfg_.options.max_tokens_per_step) return "the step's token budget exceeded";
    if (std::ssize(plan.chunks) > cfg_.options.max_running) return "max_running exceeded";
    for (SeqId v : plan.recomputed) {
      const bool runs = std::any_of(plan.chunks.begin(), plan.chunks.end(),
                                    [&](const auto& ch) { return ch.seq == v; });
      if (!runs && kv_->contains(v)) return "a recomputed sequence kept its KV";
    }
    return check_victims(plan, running_before);
  }

  // Each victim is the lowest-priority sequence that could give up its place: running at the
  // step's start, not preempted earlier in the step, not yet planned, and ranking below the
  // one that grows. A sequence gives up its own place only when there is no such one.
  std::string check_victims(const StepSchedule& plan, const std::set<SeqId>& running_before) {
    if (plan.preemptions.size() != plan.swapped_out.size() + plan.recomputed.size()) {
      return "preemptions do not add up";
    }
    std::set<SeqId> gone;  // preempted earlier in this step: now continuing turns
    // The scheduler's order for programs of one sequence each, as running ones rank (not
    // starved): fcfs by turn arrival; else continuing ones first, then (attained) the level
    // of the program's service before this step, then program arrival, which is the id order.
    const Order order = cfg_.options.order;
    auto prio = [&](SeqId id) {
      const Live& l = live_.at(id);
      if (order == Order::fcfs) return std::tuple(0, 0, static_cast<std::int64_t>(l.arrival));
      const int cls = l.continuing || gone.count(id) != 0 ? 0 : 1;
      const int lvl = order == Order::attained ? sched_->level(attained_before_.at(id)) : 0;
      if (order == Order::attained) return std::tuple(lvl, cls, static_cast<std::int64_t>(id));
      return std::tuple(cls, lvl, static_cast<std::int64_t>(id));
    };
    for (const auto& p : plan.preemptions) {
      std::set<SeqId> planned;
      for (std::size_t i = 0; i < p.chunks_before && i < plan.chunks.size(); ++i)
        planned.insert(plan.chunks[i].seq);
      std::optional<SeqId> lowest;
      for (SeqId u : running_before) {
        if (u == p.for_seq || gone.count(u) != 0 || planned.count(u) != 0) continue;
        if (prio(u) < prio(p.for_seq)) continue;
        if (!lowest || prio(*lowest) < prio(u)) lowest = u;
      }
      if (p.victim != lowest.value_or(p.for_seq)) {
        return "preempted " + std::to_string(p.victim) + " for " + std::to_string(p.for_seq) +
               ", not " + std::to_string(lowest.value_or(p.for_seq));
      }
      const auto& list = p.swapped ? plan.swapped_out : plan.recomputed;
      if (std::find(list.begin(), list.end(), p.victim) == list.end()) {
        return "a preemption is not in its list";
      }
      gone.insert(p.victim);
    }
    return {};
  }

  std::string run_chunk(const ScheduledChunk& ch) {
    Live& l = live_.at(ch.seq);
    SimTrace& t = traces_.at(ch.seq);
    if (!t.first_chunk_step) t.first_chunk_step = step_;
    if (l.computed_when_swapped >= 0 && ch.start != l.computed_when_swapped) {
      return "swapped-in sequence " + std::to_string(ch.seq) + " lost its KV";
    }
    l.computed_when_swapped = -1;
    const auto table = kv_->block_table(ch.seq);
    const std::span<const std::int32_t> all(l.tokens);
    if (!mem_.holds(table, all.first(static_cast<std::size_t>(ch.start)))) {
      return "sequence " + std::to_string(ch.seq) + " reads KV that is not its own";
    }
    const auto part =
        all.subspan(static_cast<std::size_t>(ch.start), static_cast<std::size_t>(ch.count));
    mem_.write_tokens(table, static_cast<std::size_t>(ch.start), part);
    if (auto st = kv_->commit(ch.seq, part); !st.ok()) return st.error().to_string();
    if (ch.start + ch.count != std::ssize(l.tokens)) return {};
    l.tokens.push_back(static_cast<std::int32_t>((ch.seq * 7919 + std::ssize(l.tokens)) % 997));
    if (l.tokens.size() - l.prompt_len < static_cast<std::size_t>(l.req.max_tokens)) return {};
    if (++l.turn < l.req.turns) {  // a tool call: pause with the KV pinned, as the Engine does
      sched_->pause(ch.seq);
      if (auto st = kv_->pin(ch.seq, ch.seq, std::chrono::hours(1)); !st.ok())
        return st.error().to_string();
      kv_->release(ch.seq);
      l.resume_step = step_ + 1 + l.req.tool_steps;
      return {};
    }
    t.finish_step = step_;
    sched_->remove(ch.seq);
    kv_->release(ch.seq);
    kv_->unpin(ch.seq);
    live_.erase(ch.seq);
    return {};
  }

  SimConfig cfg_;
  kv::testing::FakeBlockMemory mem_;
  kv::FakeClock clock_;
  std::unique_ptr<kv::KvManager> kv_;
  std::unique_ptr<Scheduler> sched_;
  std::map<SeqId, Live> live_;
  std::map<SeqId, SimTrace> traces_;
  StepSchedule plan_;
  std::map<SeqId, std::int64_t> attained_before_;  // per program, at the step's start
  std::uint64_t next_arrival_ = 0;
  int step_ = 0;
};

}  // namespace agentrt::scheduler::testing
