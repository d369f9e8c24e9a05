#include "engine/scheduler/scheduler.h"

#include <algorithm>
#include <string>

namespace agentrt::scheduler {

namespace {

// Programs without turns that Order::attained remembers.
constexpr std::size_t kMaxRetiredPrograms = 4096;

void erase_id(std::vector<SeqId>& v, SeqId id) {
  std::erase(v, id);
}
bool contains(const std::vector<SeqId>& v, SeqId id) {
  return std::find(v.begin(), v.end(), id) != v.end();
}

}  // namespace

Scheduler::Scheduler(const SchedulerOptions& options, kv::KvManager& kv) : opt_(options), kv_(kv) {}

const char* to_string(Order order) {
  switch (order) {
    case Order::fcfs:
      return "fcfs";
    case Order::program:
      return "program";
    case Order::attained:
      return "attained";
  }
  return "?";
}

Result<Order> parse_order(std::string_view name) {
  if (name == "fcfs") return Order::fcfs;
  if (name == "program") return Order::program;
  if (name == "attained") return Order::attained;
  return make_error(ErrorCode::invalid_argument, "scheduler order '" + std::string(name) +
                                                     "': expected fcfs, program or attained");
}

int Scheduler::level(std::int64_t tokens) const {
  int l = 0;
  for (std::int64_t bound = opt_.attained_base_tokens;
       tokens >= bound && l + 1 < opt_.attained_levels; bound *= 2)
    ++l;
  return l;
}

std::int64_t Scheduler::attained(ProgramId program) const {
  auto it = programs_.find(program);
  return it == programs_.end() ? 0 : it->second.attained;
}

// Class 0: a continuing turn or one whose program has another live turn; class 1: a new
// program. fcfs has one class and ranks turns by their own arrival; attained ranks the
// level of the program's service above the class.
Scheduler::Key Scheduler::priority(const Entry& e) const {
  if (opt_.order == Order::fcfs) return {0, 0, e.arrival, e.arrival};
  const Program& p = programs_.at(e.program);
  const int self = e.phase == Phase::waiting ? 0 : 1;
  const bool program_live = p.live - self > 0;
  const int cls = e.continuing || program_live ? 0 : 1;
  if (opt_.order == Order::program) return {cls, 0, p.arrival, e.arrival};
  const bool starved =
      e.phase == Phase::waiting && steps_ - e.waiting_since >= opt_.starvation_steps;
  return {starved ? 0 : level(p.attained), cls, p.arrival, e.arrival};
}

// Each key is computed once (keys are unique: they end in the entry's arrival), not per
// comparison: at 1000 waiting sequences, that sort was most of the engine's host time.
void Scheduler::sort_by_priority(std::vector<SeqId>& ids) const {
  std::vector<std::pair<Key, SeqId>> keyed;
  keyed.reserve(ids.size());
  for (SeqId id : ids)
    keyed.emplace_back(priority(entries_.at(id)), id);
  std::sort(keyed.begin(), keyed.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (std::size_t i = 0; i < ids.size(); ++i)
    ids[i] = keyed[i].second;
}

void Scheduler::set_phase(Entry& e, Phase p) {
  auto live = [](Phase x) { return x != Phase::waiting; };
  Program& prog = programs_.at(e.program);
  prog.live += (live(p) ? 1 : 0) - (live(e.phase) ? 1 : 0);
  erase_id(running_, e.id);
  erase_id(waiting_, e.id);
  if (p == Phase::running) running_.push_back(e.id);
  if (p == Phase::waiting) waiting_.push_back(e.id);
  if (p == Phase::waiting && e.phase != Phase::waiting) e.waiting_since = steps_;
  e.phase = p;
}

void Scheduler::add(SeqId seq, ProgramId program, const std::vector<std::int32_t>* tokens,
                    bool continuing) {
  auto [it, inserted] = programs_.try_emplace(program);
  if (inserted) it->second.arrival = next_arrival_;
  ++it->second.turns;
  Entry& e = entries_[seq];
  e = Entry{seq, program, tokens, Phase::waiting, next_arrival_++, continuing, steps_};
  waiting_.push_back(seq);
}

void Scheduler::add_fork(SeqId child, SeqId parent, const std::vector<std::int32_t>* tokens) {
  const Entry& p = entries_.at(parent);
  add(child, p.program, tokens, true);
  if (kv_.contains(child) && !kv_.swapped_out(child)) set_phase(entries_.at(child), Phase::running);
}

void Scheduler::pause(SeqId seq) {
  auto it = entries_.find(seq);
  if (it != entries_.end()) set_phase(it->second, Phase::paused);
}

void Scheduler::resume(SeqId seq) {
  auto it = entries_.find(seq);
  if (it == entries_.end() || it->second.phase != Phase::paused) return;
  it->second.continuing = true;
  if (opt_.order == Order::fcfs) it->second.arrival = next_arrival_++;  // a new arrival
  set_phase(it->second, Phase::waiting);
}

void Scheduler::remove(SeqId seq) {
  auto it = entries_.find(seq);
  if (it == entries_.end()) return;
  set_phase(it->second, Phase::waiting);
  erase_id(waiting_, seq);
  const ProgramId program = it->second.program;
  entries_.erase(it);
  auto p = programs_.find(program);
  if (--p->second.turns > 0) return;
  if (opt_.order != Order::attained) {
    programs_.erase(p);
    return;
  }
  // A program's next turn (a workflow's next step) keeps its service and arrival. A program
  // retired twice may be forgotten at its first retirement's turn: close enough.
  retired_.push_back(program);
  while (retired_.size() > kMaxRetiredPrograms) {
    auto old = programs_.find(retired_.front());
    retired_.pop_front();
    if (old != programs_.end() && old->second.turns == 0) programs_.erase(old);
  }
}

void Scheduler::preempt(Entry& e, SeqId for_seq, StepSchedule& out) {
  const bool swapped = opt_.swap_preemption && kv_.swap_out(e.id).ok();
  if (swapped) {
    out.swapped_out.push_back(e.id);
    ++swap_preemptions_;
  } else {
    kv_.release(e.id);
    out.recomputed.push_back(e.id);
  }
  out.preemptions.push_back({e.id, for_seq, out.chunks.size(), swapped});
  e.continuing = true;  // comes back ahead of new programs
  set_phase(e, Phase::waiting);
  ++preemptions_;
}

// Reserves KV for `count` more tokens of e, preempting lower-priority running sequences
// that are not in this step; preempts e itself when none is left. Returns whether e runs.
bool Scheduler::grow(Entry& e, std::int64_t count, std::vector<SeqId>& scheduled,
                     StepSchedule& out) {
  const std::int64_t start = kv_.computed(e.id);
  while (!kv_.reserve(e.id, start + count).ok()) {
    const Key mine = priority(e);
    std::optional<SeqId> victim;
    for (SeqId id : running_) {
      if (id == e.id || contains(scheduled, id) || priority(entries_.at(id)) < mine) continue;
      if (!victim || priority(entries_.at(*victim)) < priority(entries_.at(id))) victim = id;
    }
    if (!victim) {
      preempt(e, e.id, out);
      return false;
    }
    preempt(entries_.at(*victim), e.id, out);
  }
  out.chunks.push_back({e.id, start, count});
  scheduled.push_back(e.id);
  return true;
}

void Scheduler::run_running(bool decodes, std::int64_t& budget, std::vector<SeqId>& scheduled,
                            StepSchedule& out) {
  std::vector<SeqId> order = running_;
  sort_by_priority(order);
  for (SeqId id : order) {
    if (budget <= 0) return;
    Entry& e = entries_.at(id);
    if (e.phase != Phase::running || contains(scheduled, id)) continue;
    const std::int64_t remaining = std::ssize(*e.tokens) - kv_.computed(id);
    if (remaining <= 0 || (remaining == 1) != decodes) continue;
    const std::int64_t n = std::min(remaining, budget);
    if (grow(e, n, scheduled, out)) budget -= n;
  }
}

// Starts a waiting sequence (swap-in or prefix match) and its first chunk. Returns false
// when KV is short: the caller stops admitting, so the order stays FCFS.
bool Scheduler::admit(Entry& e, std::int64_t& budget, std::vector<SeqId>& scheduled,
                      StepSchedule& out) {
  const bool alone = running_.empty();
  const std::int64_t total = std::ssize(*e.tokens);
  if (kv_.swapped_out(e.id)) {
    const int need = kv_.blocks_to_grow(e.id, kv_.computed(e.id) + 1);
    if (!alone && need > kv_.available_blocks()) return false;
    if (!kv_.swap_in(e.id).ok()) return false;
  } else {
    auto hit = kv_.open(e.id, *e.tokens);
    if (!hit.ok()) return false;
    const std::int64_t n = std::min(total - *hit, budget);
    if (!alone && kv_.blocks_to_grow(e.id, *hit + n) > kv_.available_blocks()) {
      kv_.release(e.id);
      return false;
    }
    kv_.unpin(e.id);  // a paused turn's pin (owned by its SeqId) has served its purpose
  }
  set_phase(e, Phase::running);
  const std::int64_t n = std::min(total - kv_.computed(e.id), budget);
  if (n <= 0) return true;
  if (!grow(e, n, scheduled, out)) return false;
  budget -= n;
  return true;
}

StepSchedule Scheduler::schedule() {
  kv_.expire_pins();
  StepSchedule out;
  std::int64_t budget = opt_.max_tokens_per_step;
  std::vector<SeqId> scheduled;
  run_running(true, budget, scheduled, out);
  run_running(false, budget, scheduled, out);
  std::vector<SeqId> order;
  if (budget > 0 && std::ssize(running_) < opt_.max_running) {  // else none is admitted
    order = waiting_;
    sort_by_priority(order);
  }
  for (SeqId id : order) {
    if (budget <= 0 || std::ssize(running_) >= opt_.max_running) break;
    Entry& e = entries_.at(id);
    if (e.phase != Phase::waiting) continue;
    if (!admit(e, budget, scheduled, out)) break;
  }
  // Service counts once the step is planned, so ranks hold still while it is planned.
  for (const auto& ch : out.chunks)
    programs_.at(entries_.at(ch.seq).program).attained += ch.count;
  ++steps_;
  return out;
}

}  // namespace agentrt::scheduler
