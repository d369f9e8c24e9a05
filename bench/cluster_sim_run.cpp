// One cluster_sim run (see bench/cluster_sim.h): the event loop, each GPU's scheduler over
// its real KvManager, the KV events and load reports the Router gets, and the figures.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <iostream>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <vector>

#include "bench/agentic_workload.h"
#include "bench/cluster_sim.h"
#include "cluster/router.h"
#include "engine/kv/fake_block_memory.h"
#include "engine/kv/kv_manager.h"

namespace agentrt::bench {
namespace {

using cluster::NodeId;
using WallClock = std::chrono::steady_clock;

// A BlockMemory that stores nothing: the simulation never reads KV back.
class NullBlockMemory final : public kv::BlockMemory {
 public:
  std::size_t block_bytes() const override { return 1; }
  Status copy(std::span<const std::pair<std::int32_t, std::int32_t>>) override {
    return ok_status();
  }
  Status read(std::int32_t, std::span<std::byte>) override { return ok_status(); }
  Status write(std::int32_t, std::span<const std::byte>) override { return ok_status(); }
};

struct Program {
  ScriptedProgram script;
  std::string name;
  std::vector<std::int32_t> history;  // tokens of the conversation so far
  std::vector<kv::BlockKey> keys;     // chained keys of history's full blocks
  std::size_t turn = 0;
  double arrival = 0;
  NodeId node = -1;  // where its last turn ran
  bool pinned = false;
};

struct Seq {
  int prog = 0;
  std::int64_t target = 0;    // prompt tokens to have computed before decoding
  std::int64_t computed = 0;  // tokens committed in the KV manager
  int out_left = 0;
  bool admitted_once = false;
};

struct Gpu {
  std::unique_ptr<kv::BlockMemory> memory;
  std::unique_ptr<kv::KvManager> kv;
  std::deque<int> waiting;  // seq ids
  std::deque<int> prefill;
  std::vector<int> running;
  std::vector<std::optional<kv::BlockKey>> reported;  // key the router was told, per block
  bool stepping = false;
  bool fluid = false;  // a run of decode-only steps
  double step_start = 0, step_len = 0;
  int steps = 0;
  std::uint64_t version = 0;
  std::vector<std::pair<int, std::int64_t>> chunk;  // this step's prefill: (seq, tokens)
  double busy_s = 0;
  double last_report = -1;
};

struct Event {
  double t = 0;
  std::uint64_t order = 0;
  enum Kind { arrival, tool_return, step_end } kind = arrival;
  int who = 0;  // program or GPU
  std::uint64_t version = 0;
  bool operator>(const Event& o) const { return t != o.t ? t > o.t : order > o.order; }
};

class Sim {
 public:
  Sim(const SimOptions& o, std::unique_ptr<cluster::RoutingPolicy> policy)
      : o_(o), router_(std::move(policy), router_options(o)) {}

  PolicyResult run();

 private:
  static cluster::RouterOptions router_options(const SimOptions& o) {
    cluster::RouterOptions r;
    r.block_size = o.block_size;
    if (o.index_entries > 0) r.index.max_entries = o.index_entries;
    return r;
  }
  template <class F>
  auto coordinator(double& acc_ns, F&& f) {
    const auto t0 = WallClock::now();
    auto r = f();
    acc_ns += std::chrono::duration<double, std::nano>(WallClock::now() - t0).count();
    return r;
  }
  void push(double t, Event::Kind k, int who, std::uint64_t version = 0) {
    events_.push(Event{t, ++order_, k, who, version});
  }
  std::int32_t output_token(int prog, std::size_t pos) const {
    std::uint64_t x = (static_cast<std::uint64_t>(prog) << 32) ^ pos ^ o_.seed;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return static_cast<std::int32_t>(16 + x % 31000);
  }
  void make_programs_();
  void extend_keys(Program& p);
  void request_turn(int prog, double now);
  void kick(int g, double now);
  void start_step(int g, double now);
  void end_step(int g, double now);
  bool admit(int g, int s);
  bool grow(int g, int s, std::int64_t tokens);
  void preempt_last(int g);
  void scan(int g, int s, std::size_t from_block, bool after_commit);
  void turn_done(int g, int s, double now);
  void report(int g);
  void emit(NodeId g, cluster::KvEventKind kind, std::vector<kv::BlockKey> keys);

  SimOptions o_;
  StepModel model_;
  cluster::Router router_;
  kv::FakeClock clock_;
  double now_ = 0;
  std::vector<Program> programs_;
  std::vector<Seq> seqs_;
  std::vector<Gpu> gpus_;
  std::priority_queue<Event, std::vector<Event>, std::greater<>> events_;
  std::uint64_t order_ = 0;
  std::vector<double> jct_;
  PolicyResult r_;
  double route_ns_ = 0, update_ns_ = 0, hash_ns_ = 0, events_ns_ = 0;
  std::int64_t predicted_hit_tokens_ = 0;
};

void Sim::make_programs_() {
  WorkloadOptions w;
  apply_workload_preset(o_.workload, w);
  const int total = o_.gpus * o_.programs_per_gpu;
  w.programs = total;
  w.seed = o_.seed;
  std::vector<ScriptedProgram> all = make_programs(w);
  // Families: program i belongs to family i % families, whose system prompt replaces the
  // shared one (make_programs gives every program the same one).
  std::vector<std::vector<std::int32_t>> systems;
  for (int f = 0; f < o_.families; ++f) {
    WorkloadOptions one = w;
    one.programs = 1;
    one.seed = o_.seed * 1000 + static_cast<std::uint64_t>(f) + 1;
    auto p = make_programs(one);
    systems.emplace_back(p[0].prompt.begin(), p[0].prompt.begin() + w.system_tokens);
  }
  const double rate = o_.rate_per_gpu * o_.gpus;
  programs_.resize(all.size());
  for (std::size_t i = 0; i < all.size(); ++i) {
    Program& p = programs_[i];
    p.script = std::move(all[i]);
    const auto& sys = systems[i % systems.size()];
    std::copy(sys.begin(), sys.end(), p.script.prompt.begin());
    p.name = "p" + std::to_string(i);
    p.arrival = p.script.arrival / rate;
    push(p.arrival, Event::arrival, static_cast<int>(i));
  }
}

void Sim::extend_keys(Program& p) {
  const auto t0 = WallClock::now();
  const auto bs = static_cast<std::size_t>(o_.block_size);
  kv::BlockKey parent = p.keys.empty() ? kv::root_key("sim") : p.keys.back();
  while ((p.keys.size() + 1) * bs <= p.history.size()) {
    std::span<const std::int32_t> part(p.history.data() + p.keys.size() * bs, bs);
    parent = kv::chain_key(parent, part, "sim");
    p.keys.push_back(parent);
  }
  hash_ns_ += std::chrono::duration<double, std::nano>(WallClock::now() - t0).count();
}

void Sim::request_turn(int prog, double now) {
  Program& p = programs_[static_cast<std::size_t>(prog)];
  extend_keys(p);
  cluster::RouteRequest req;
  req.blocks = p.keys;
  req.program = p.name;
  if (p.node >= 0) req.resume_of = p.node;
  req.prompt_tokens = static_cast<std::int64_t>(p.history.size());
  auto d = coordinator(route_ns_, [&] { return router_.decide(req); });
  if (!d.ok()) {
    std::cerr << "cluster_sim: " << d.error().to_string() << "\n";
    std::exit(1);
  }
  const NodeId g = d->node;
  predicted_hit_tokens_ += std::int64_t{d->match.blocks} * o_.block_size;
  if (p.pinned && p.node >= 0 && p.node != g) {
    // The program moves: its old node drops the pin (the coordinator tells it).
    gpus_[static_cast<std::size_t>(p.node)].kv->unpin(prog);
    emit(p.node, cluster::KvEventKind::unpinned, p.keys);
    p.pinned = false;
  }
  p.node = g;
  Seq s;
  s.prog = prog;
  s.target = static_cast<std::int64_t>(p.history.size());
  s.out_left = p.script.turns[p.turn].output_tokens;
  seqs_.push_back(s);
  gpus_[static_cast<std::size_t>(g)].waiting.push_back(static_cast<int>(seqs_.size() - 1));
  kick(g, now);
}

void Sim::emit(NodeId g, cluster::KvEventKind kind, std::vector<kv::BlockKey> keys) {
  if (keys.empty()) return;
  const bool pin = kind == cluster::KvEventKind::pinned || kind == cluster::KvEventKind::unpinned;
  if (pin && !o_.pin_events) return;
  cluster::KvEvent e{g, kind, cluster::KvTierKind::device, std::move(keys)};
  const double before = update_ns_;
  const Status st = coordinator(update_ns_, [&] { return router_.apply(e); });
  events_ns_ += update_ns_ - before;
  if (!st.ok()) std::cerr << "cluster_sim: " << st.error().to_string() << "\n";
}

// Tells the router what changed in the blocks of seq `s` from `from_block` on: blocks
// reclaimed from the cache for it (evicted), and, after a commit, blocks sealed (stored).
void Sim::scan(int g, int s, std::size_t from_block, bool after_commit) {
  Gpu& gpu = gpus_[static_cast<std::size_t>(g)];
  auto table = gpu.kv->block_table(s);
  std::vector<kv::BlockKey> evicted, stored;
  for (std::size_t i = from_block; i < table.size(); ++i) {
    const auto id = table[i];
    auto& rep = gpu.reported[static_cast<std::size_t>(id)];
    const kv::Block& b = gpu.kv->pool().block(id);
    const std::optional<kv::BlockKey> now = b.indexed ? b.key : std::nullopt;
    if (rep && rep != now) {
      evicted.push_back(*rep);
      rep.reset();
    }
    if (after_commit && now && !rep) {
      stored.push_back(*now);
      rep = now;
    }
  }
  emit(g, cluster::KvEventKind::evicted, std::move(evicted));
  emit(g, cluster::KvEventKind::stored, std::move(stored));
}

bool Sim::admit(int g, int s) {
  Gpu& gpu = gpus_[static_cast<std::size_t>(g)];
  Seq& q = seqs_[static_cast<std::size_t>(s)];
  Program& p = programs_[static_cast<std::size_t>(q.prog)];
  std::span<const std::int32_t> prompt(p.history.data(), static_cast<std::size_t>(q.target));
  auto cached = gpu.kv->open(s, prompt);
  if (!cached.ok()) return false;
  if (!gpu.kv->reserve(s, q.target).ok()) {
    gpu.kv->release(s);
    return false;
  }
  if (p.pinned) {
    gpu.kv->unpin(q.prog);  // the turn holds its blocks now
    p.pinned = false;
    emit(g, cluster::KvEventKind::unpinned,
         std::vector<kv::BlockKey>(
             p.keys.begin(), p.keys.begin() + static_cast<std::ptrdiff_t>(std::min(
                                                  p.keys.size(), static_cast<std::size_t>(
                                                                     *cached / o_.block_size)))));
  }
  q.computed = *cached;
  if (!q.admitted_once) {
    r_.prompt_tokens += q.target;
    r_.hit_tokens += *cached;
    q.admitted_once = true;
  } else {
    r_.recomputed_tokens += q.target - *cached;
  }
  r_.prefilled_tokens += q.target - *cached;
  scan(g, s, 0, false);
  return true;
}

bool Sim::grow(int g, int s, std::int64_t tokens) {
  Gpu& gpu = gpus_[static_cast<std::size_t>(g)];
  const std::size_t before = gpu.kv->block_table(s).size();
  if (!gpu.kv->reserve(s, tokens).ok()) return false;
  scan(g, s, before == 0 ? 0 : before - 1, false);
  return true;
}

// Preempts the most recently admitted running sequence: its KV is released (its full
// blocks stay cached) and it waits at the front of the queue, to be recomputed.
void Sim::preempt_last(int g) {
  Gpu& gpu = gpus_[static_cast<std::size_t>(g)];
  const int s = gpu.running.back();
  gpu.running.pop_back();
  gpu.kv->release(s);
  Seq& q = seqs_[static_cast<std::size_t>(s)];
  q.target = static_cast<std::int64_t>(programs_[static_cast<std::size_t>(q.prog)].history.size());
  q.computed = 0;
  gpu.waiting.push_front(s);
  ++r_.preemptions;
}

void Sim::kick(int g, double now) {
  Gpu& gpu = gpus_[static_cast<std::size_t>(g)];
  if (!gpu.stepping) {
    start_step(g, now);
    return;
  }
  if (!gpu.fluid) return;  // a prefill step ends soon; admission happens then
  // Cut the decode run at the step in flight so the new turn is admitted there.
  const int done = static_cast<int>(std::floor((now - gpu.step_start) / gpu.step_len)) + 1;
  if (done >= gpu.steps) return;
  gpu.steps = done;
  ++gpu.version;
  push(gpu.step_start + done * gpu.step_len, Event::step_end, g, gpu.version);
}

void Sim::start_step(int g, double now) {
  Gpu& gpu = gpus_[static_cast<std::size_t>(g)];
  while (!gpu.waiting.empty() &&
         gpu.running.size() + gpu.prefill.size() < static_cast<std::size_t>(o_.max_batch)) {
    const int s = gpu.waiting.front();
    if (!admit(g, s)) break;
    gpu.waiting.pop_front();
    gpu.prefill.push_back(s);
  }
  if (now - gpu.last_report >= o_.load_report_s) {
    gpu.last_report = now;
    report(g);
  }
  gpu.chunk.clear();
  double context = 0;
  for (int s : gpu.running)
    context += static_cast<double>(seqs_[static_cast<std::size_t>(s)].computed);
  if (!gpu.prefill.empty()) {
    // One mixed step: a decode token for every running sequence, prefill chunks after.
    for (std::size_t i = 0; i < gpu.running.size();) {
      const int s = gpu.running[i];
      if (grow(g, s, seqs_[static_cast<std::size_t>(s)].computed + 1)) {
        ++i;
      } else {
        preempt_last(g);
      }
    }
    std::int64_t budget = o_.token_budget - static_cast<std::int64_t>(gpu.running.size());
    double prefill_s = 0;
    for (int s : gpu.prefill) {
      if (budget <= 0) break;
      const Seq& q = seqs_[static_cast<std::size_t>(s)];
      const std::int64_t n = std::min(budget, q.target - q.computed);
      gpu.chunk.emplace_back(s, n);
      prefill_s += model_.prefill_s(n, q.computed);
      budget -= n;
    }
    gpu.fluid = false;
    gpu.steps = 1;
    gpu.step_len = model_.decode_s(gpu.running.size(), context) + prefill_s;
  } else if (!gpu.running.empty()) {
    int k = INT32_MAX;
    for (int s : gpu.running)
      k = std::min(k, seqs_[static_cast<std::size_t>(s)].out_left);
    for (std::size_t i = 0; i < gpu.running.size();) {
      const int s = gpu.running[i];
      if (grow(g, s, seqs_[static_cast<std::size_t>(s)].computed + k)) {
        ++i;
      } else {
        preempt_last(g);
      }
    }
    if (gpu.running.empty()) return start_step(g, now);
    const double mid = context + static_cast<double>(gpu.running.size()) * k / 2.0;
    gpu.fluid = true;
    gpu.steps = k;
    gpu.step_len = model_.decode_s(gpu.running.size(), mid);
  } else {
    gpu.stepping = false;
    return;
  }
  gpu.stepping = true;
  gpu.step_start = now;
  ++gpu.version;
  push(now + gpu.steps * gpu.step_len, Event::step_end, g, gpu.version);
}

void Sim::end_step(int g, double now) {
  Gpu& gpu = gpus_[static_cast<std::size_t>(g)];
  const int k = gpu.steps;
  gpu.busy_s += k * gpu.step_len;
  gpu.stepping = false;
  const auto bs = static_cast<std::size_t>(o_.block_size);
  std::vector<int> finished;
  for (int s : gpu.running) {
    Seq& q = seqs_[static_cast<std::size_t>(s)];
    Program& p = programs_[static_cast<std::size_t>(q.prog)];
    const auto from = static_cast<std::size_t>(q.computed);
    for (int i = 0; i < k; ++i)
      if (p.history.size() < from + static_cast<std::size_t>(k))
        p.history.push_back(output_token(q.prog, p.history.size()));
    const Status st =
        gpu.kv->commit(s, std::span(p.history).subspan(from, static_cast<std::size_t>(k)));
    if (!st.ok()) std::cerr << "cluster_sim: commit: " << st.error().to_string() << "\n";
    q.computed += k;
    q.out_left -= k;
    scan(g, s, from / bs, true);
    if (q.out_left <= 0) finished.push_back(s);
  }
  for (auto [s, n] : gpu.chunk) {
    Seq& q = seqs_[static_cast<std::size_t>(s)];
    Program& p = programs_[static_cast<std::size_t>(q.prog)];
    const auto from = static_cast<std::size_t>(q.computed);
    const Status st =
        gpu.kv->commit(s, std::span(p.history).subspan(from, static_cast<std::size_t>(n)));
    if (!st.ok()) std::cerr << "cluster_sim: commit: " << st.error().to_string() << "\n";
    q.computed += n;
    scan(g, s, from / bs, true);
    if (q.computed >= q.target) {
      gpu.prefill.erase(std::find(gpu.prefill.begin(), gpu.prefill.end(), s));
      gpu.running.push_back(s);
    }
  }
  gpu.chunk.clear();
  for (int s : finished) {
    gpu.running.erase(std::find(gpu.running.begin(), gpu.running.end(), s));
    turn_done(g, s, now);
  }
  start_step(g, now);
}

void Sim::turn_done(int g, int s, double now) {
  Gpu& gpu = gpus_[static_cast<std::size_t>(g)];
  Seq& q = seqs_[static_cast<std::size_t>(s)];
  Program& p = programs_[static_cast<std::size_t>(q.prog)];
  const ScriptedTurn& turn = p.script.turns[p.turn];
  ++p.turn;
  if (p.turn == p.script.turns.size()) {
    gpu.kv->release(s);
    router_.program_done(p.name);
    jct_.push_back(now - p.arrival);
    p.history = {};
    p.keys = {};
    return;
  }
  const double ttl = turn.tool_seconds + o_.pin_slack_s;
  if (gpu.kv
          ->pin(q.prog, s,
                std::chrono::duration_cast<kv::Duration>(std::chrono::duration<double>(ttl)))
          .ok()) {
    p.pinned = true;
    extend_keys(p);
    emit(g, cluster::KvEventKind::pinned, p.keys);
  }
  gpu.kv->release(s);
  push(now + turn.tool_seconds, Event::tool_return, q.prog);
}

void Sim::report(int g) {
  const Gpu& gpu = gpus_[static_cast<std::size_t>(g)];
  cluster::NodeLoad load;
  load.running = static_cast<std::int32_t>(gpu.running.size());
  load.waiting = static_cast<std::int32_t>(gpu.waiting.size() + gpu.prefill.size());
  for (int s : gpu.prefill) {
    const Seq& q = seqs_[static_cast<std::size_t>(s)];
    load.pending_tokens += q.target - q.computed;
  }
  load.free_blocks = gpu.kv->available_blocks();
  const Status st = coordinator(update_ns_, [&] { return router_.report_load(g, load); });
  if (!st.ok()) std::cerr << "cluster_sim: " << st.error().to_string() << "\n";
}

PolicyResult Sim::run() {
  const auto wall0 = WallClock::now();
  r_.policy = std::string(router_.policy().name());
  const int num_blocks = static_cast<int>(o_.kv_tokens / o_.block_size);
  gpus_.resize(static_cast<std::size_t>(o_.gpus));
  for (int g = 0; g < o_.gpus; ++g) {
    Gpu& gpu = gpus_[static_cast<std::size_t>(g)];
    if (o_.fake_memory)
      gpu.memory = std::make_unique<kv::testing::FakeBlockMemory>(num_blocks, o_.block_size);
    else
      gpu.memory = std::make_unique<NullBlockMemory>();
    kv::KvManagerOptions ko;
    ko.num_blocks = num_blocks;
    ko.block_size = o_.block_size;
    ko.model_fingerprint = "sim";
    kv::KvManagerDeps deps;
    deps.memory = gpu.memory.get();
    deps.clock = &clock_;
    auto m = kv::KvManager::create(ko, std::move(deps));
    if (!m.ok()) {
      std::cerr << "cluster_sim: " << m.error().to_string() << "\n";
      std::exit(1);
    }
    gpu.kv = std::move(m).value();
    gpu.reported.resize(static_cast<std::size_t>(num_blocks));
    if (!router_.join(g, cluster::NodeInfo{"gpu" + std::to_string(g), num_blocks}).ok())
      std::exit(1);
  }
  make_programs_();
  while (!events_.empty()) {
    const Event e = events_.top();
    events_.pop();
    if (e.t > now_) {
      clock_.advance(
          std::chrono::duration_cast<kv::Duration>(std::chrono::duration<double>(e.t - now_)));
      now_ = e.t;
    }
    switch (e.kind) {
      case Event::arrival: {
        Program& p = programs_[static_cast<std::size_t>(e.who)];
        p.history = p.script.prompt;
        request_turn(e.who, now_);
        break;
      }
      case Event::tool_return: {
        Program& p = programs_[static_cast<std::size_t>(e.who)];
        const auto& result = p.script.turns[p.turn - 1].result;
        p.history.insert(p.history.end(), result.begin(), result.end());
        request_turn(e.who, now_);
        break;
      }
      case Event::step_end: {
        Gpu& gpu = gpus_[static_cast<std::size_t>(e.who)];
        if (e.version == gpu.version && gpu.stepping) end_step(e.who, now_);
        break;
      }
    }
  }
  // Results.
  r_.makespan_s = now_;
  r_.hit_rate = static_cast<double>(r_.hit_tokens) / static_cast<double>(r_.prompt_tokens);
  r_.predicted_hit_rate =
      static_cast<double>(predicted_hit_tokens_) / static_cast<double>(r_.prompt_tokens);
  double sum = 0;
  for (const Gpu& gpu : gpus_) {
    sum += gpu.busy_s;
    r_.max_busy_s = std::max(r_.max_busy_s, gpu.busy_s);
    const kv::KvMetrics m = gpu.kv->metrics();
    r_.evictions += m.evictions;
    r_.pins_revoked += m.pins_revoked;
  }
  r_.mean_busy_s = sum / o_.gpus;
  r_.imbalance = r_.max_busy_s / r_.mean_busy_s;
  std::sort(jct_.begin(), jct_.end());
  double jsum = 0;
  for (double j : jct_)
    jsum += j;
  r_.mean_jct_s = jsum / static_cast<double>(jct_.size());
  r_.p99_jct_s = jct_[std::min(jct_.size() - 1, static_cast<std::size_t>(0.99 * jct_.size()))];
  const auto st = router_.stats();
  r_.routed = st.routed;
  r_.kv_events = st.events;
  r_.route_us = route_ns_ / 1e3 / static_cast<double>(st.routed);
  r_.update_us = update_ns_ / 1e3 / static_cast<double>(st.routed);
  r_.coordinator_us = r_.route_us + r_.update_us;
  r_.hash_us = hash_ns_ / 1e3 / static_cast<double>(st.routed);
  r_.routed_per_s = static_cast<double>(st.routed) / now_;
  r_.saturation_per_s = 1e6 / r_.coordinator_us;
  r_.index_entries = router_.index().entries();
  r_.index_dropped = router_.index().dropped_entries();
  r_.events_us = events_ns_ / 1e3 / static_cast<double>(st.routed);
  r_.loads_us = r_.update_us - r_.events_us;
  r_.wall_s = std::chrono::duration<double>(WallClock::now() - wall0).count();
  if (jct_.size() != programs_.size()) {
    std::cerr << "cluster_sim: " << jct_.size() << " of " << programs_.size()
              << " programs finished\n";
    std::exit(1);
  }
  return r_;
}

}  // namespace

PolicyResult run_cluster_sim(const SimOptions& o, std::unique_ptr<cluster::RoutingPolicy> policy) {
  Sim sim(o, std::move(policy));
  return sim.run();
}

}  // namespace agentrt::bench
