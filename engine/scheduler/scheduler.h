// Scheduler: continuous batching over the KV manager. Each step gets a token budget:
// running decodes first, then prefill chunks of running sequences, then admissions while
// KV allows. Order is program-aware: a turn of a program that already has a running,
// paused or swapped turn (or a resumed turn) goes ahead of new programs; programs are FCFS.
// When KV runs out, the lowest-priority running sequence is preempted, by swapping it to
// host memory or, when swap space is short or off, by dropping its KV for recompute.
// The highest-priority sequence is never preempted by lower ones, so one always progresses.
// Engine thread only.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <vector>

#include "engine/common/result.h"
#include "engine/kv/kv_manager.h"

namespace agentrt::scheduler {

using kv::SeqId;
using ProgramId = std::int64_t;

struct SchedulerOptions {
  int max_tokens_per_step = 512;  // decodes count 1 each, prefill chunks their length
  int max_running = 64;
  bool swap_preemption = true;  // false: preempt by recompute only
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

 private:
  enum class Phase { waiting, running, paused };
  struct Entry {
    SeqId id = 0;
    ProgramId program = 0;
    const std::vector<std::int32_t>* tokens = nullptr;
    Phase phase = Phase::waiting;
    std::uint64_t arrival = 0;
    bool continuing = false;
  };
  struct Program {
    std::uint64_t arrival = 0;
    int live = 0;  // turns running or paused
  };
  using Key = std::tuple<int, std::uint64_t, std::uint64_t>;

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
  std::uint64_t next_arrival_ = 0;
  std::int64_t preemptions_ = 0;
  std::int64_t swap_preemptions_ = 0;
};

}  // namespace agentrt::scheduler
