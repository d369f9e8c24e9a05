// Scheduler: continuous batching over the KV manager. Each step gets a token budget:
// running decodes first, then prefill chunks of running sequences, then admissions while
// KV allows, in the order SchedulerOptions::order names (fcfs, program or attained).
// When KV runs out, the lowest-priority running sequence is preempted, by swapping it to
// host memory or, when swap space is short or off, by dropping its KV for recompute.
// The highest-priority sequence is never preempted by lower ones, so one always progresses.
// Engine thread only.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <span>
#include <string_view>
#include <tuple>
#include <vector>

#include "engine/common/result.h"
#include "engine/kv/kv_manager.h"

namespace agentrt::scheduler {

using kv::SeqId;
using ProgramId = std::int64_t;

// How turns rank, for admission (highest first) and preemption (lowest first).
enum class Order {
  // Every turn by its own arrival; a resumed turn arrives anew (vLLM's order).
  fcfs,
  // Continuing turns (resumed, preempted, or of a program with another live turn) first,
  // then programs by arrival.
  program,
  // Autellix's PLAS: the program with the least attained service first (tokens computed
  // for it, prefill and decode, in a few levels), then continuing turns, then programs by
  // arrival. A turn that has waited starvation_steps steps ranks at level 0. Levels before
  // continuity: with continuity first, long programs' resumed turns held short programs
  // back (scheduler_order.test.cpp measures the orders).
  attained,
};
const char* to_string(Order order);
// "fcfs", "program" or "attained"; anything else is invalid_argument.
Result<Order> parse_order(std::string_view name);

struct SchedulerOptions {
  int max_tokens_per_step = 512;  // decodes count 1 each, prefill chunks their length
  int max_running = 64;
  bool swap_preemption = true;  // false: preempt by recompute only
  Order order = Order::attained;
  // attained: level 0 below attained_base_tokens, then one level per doubling, capped at
  // attained_levels - 1. Few levels keep long programs among themselves in arrival order,
  // which measured better than finer ones (scheduler_order.test.cpp).
  std::int64_t attained_base_tokens = 2048;
  int attained_levels = 3;
  int starvation_steps = 1000;  // attained: waited this long, a turn ranks at level 0
};

// Tokens [start, start + count) of seq to compute this step.
struct ScheduledChunk {
  SeqId seq = 0;
  std::int64_t start = 0;
  std::int64_t count = 0;
};

// One preemption: `victim` lost its place so that `for_seq` could grow (the same id when a
// sequence found no lower-priority victim and gave up its own place), when `chunks_before`
// chunks of the step were already planned.
struct Preemption {
  SeqId victim = 0;
  SeqId for_seq = 0;
  std::size_t chunks_before = 0;
  bool swapped = false;  // false: its KV was dropped for recompute
};

struct StepSchedule {
  std::vector<ScheduledChunk> chunks;
  std::vector<SeqId> swapped_out;       // preempted by swap this step
  std::vector<SeqId> recomputed;        // preempted by dropping KV this step
  std::vector<Preemption> preemptions;  // every preemption of this step, in order
};

class Scheduler {
 public:
  Scheduler(const SchedulerOptions& options, kv::KvManager& kv);

  // Registers a sequence waiting to run. `tokens` (owned by the caller, stable address) is
  // every token known so far; the caller appends sampled tokens to it. A `continuing` turn
  // gets program priority (a resumed tool call).
  void add(SeqId seq, ProgramId program, const std::vector<std::int32_t>* tokens,
           bool continuing = false);
  // A fork of `parent`: running beside it when the KV manager already holds its fork,
  // else waiting. Requires the parent to be registered.
  void add_fork(SeqId child, SeqId parent, const std::vector<std::int32_t>* tokens);
  // Takes seq out of the batch; its KV stays with the KV manager (the caller pins or
  // releases it). No-op when unknown.
  void pause(SeqId seq);
  // A paused seq waits again, with program priority.
  void resume(SeqId seq);
  // Forgets seq (finished or cancelled). The caller releases its KV.
  void remove(SeqId seq);

  // Plans one step. The chunks' KV is reserved; the caller runs them and commits.
  StepSchedule schedule();

  bool has_work() const { return !running_.empty() || !waiting_.empty(); }
  std::size_t running() const { return running_.size(); }
  std::size_t waiting() const { return waiting_.size(); }
  // Preemptions since construction: all of them, and those that swapped the victim's KV to
  // host memory (the rest dropped it for recompute, e.g. when swap space was short).
  std::int64_t preemptions() const { return preemptions_; }
  std::int64_t swap_preemptions() const { return swap_preemptions_; }
  // Tokens computed for `program` so far (planned chunks); 0 when unknown. Order::attained
  // remembers programs whose turns have all ended (the last few thousand).
  std::int64_t attained(ProgramId program) const;
  // The attained-service level of a program that has computed `tokens` (Order::attained).
  int level(std::int64_t tokens) const;

 private:
  enum class Phase { waiting, running, paused };
  struct Entry {
    SeqId id = 0;
    ProgramId program = 0;
    const std::vector<std::int32_t>* tokens = nullptr;
    Phase phase = Phase::waiting;
    std::uint64_t arrival = 0;
    bool continuing = false;
    std::int64_t waiting_since = 0;  // the step it last became waiting
  };
  struct Program {
    std::uint64_t arrival = 0;
    int live = 0;   // turns running or paused
    int turns = 0;  // turns registered
    std::int64_t attained = 0;
  };
  // (class, level, program arrival, turn arrival); smaller runs first.
  using Key = std::tuple<int, int, std::uint64_t, std::uint64_t>;

  Key priority(const Entry& e) const;
  void sort_by_priority(std::vector<SeqId>& ids) const;
  void set_phase(Entry& e, Phase p);
  bool grow(Entry& e, std::int64_t count, std::vector<SeqId>& scheduled, StepSchedule& out);
  void preempt(Entry& e, SeqId for_seq, StepSchedule& out);
  void run_running(bool decodes, std::int64_t& budget, std::vector<SeqId>& scheduled,
                   StepSchedule& out);
  bool admit(Entry& e, std::int64_t& budget, std::vector<SeqId>& scheduled, StepSchedule& out);

  SchedulerOptions opt_;
  kv::KvManager& kv_;
  std::map<SeqId, Entry> entries_;
  std::map<ProgramId, Program> programs_;
  std::vector<SeqId> running_;
  std::vector<SeqId> waiting_;
  std::deque<ProgramId> retired_;  // attained: programs without turns, oldest first
  std::uint64_t next_arrival_ = 0;
  std::int64_t steps_ = 0;
  std::int64_t preemptions_ = 0;
  std::int64_t swap_preemptions_ = 0;
};

}  // namespace agentrt::scheduler
