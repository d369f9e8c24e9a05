// Overlapped steps (EngineOptions::overlap_steps): the engine queues step n + 1 before it
// takes step n's tokens. On the toy backend, whose tokens hash the whole sequence through
// its KV slots, every request's events must equal those of the same workload run one step
// at a time: stops, turn pauses and resumes, forks, cancels and pauses sent when a request
// has shown some tokens, prefix hits, preemption by swap and by recompute, and steps that
// must wait (host sampling, masks).
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "engine/sampling/constraint.h"
#include "engine/sampling/token_mask.h"
#include "engine/toy_backend.h"

namespace agentrt {
namespace {

using namespace std::chrono_literals;
using testing::Rig;
using testing::ToyBackend;

struct Seen {
  EventKind kind;
  std::int32_t token;
  std::optional<FinishReason> finish;
  bool operator==(const Seen&) const = default;
};

// Allows every token but the odd ones below 8, and is always complete: its rows need masks.
class NoSmallOdd final : public sampling::Constraint {
 public:
  class State final : public sampling::ConstraintState {
   public:
    void allowed(sampling::TokenMask& mask) const override {
      for (int t = 0; t < ToyBackend::kVocab; ++t)
        if (t >= 8 || t % 2 == 0) mask.set(t);
    }
    bool accept(std::int32_t token) override { return token >= 8 || token % 2 == 0; }
    bool complete() const override { return true; }
    std::unique_ptr<sampling::ConstraintState> clone() const override {
      return std::make_unique<State>(*this);
    }
  };
  std::unique_ptr<sampling::ConstraintState> start() const override {
    return std::make_unique<State>();
  }
  std::span<const std::int32_t> end_tokens() const override { return {}; }
};

struct Workload {
  std::vector<EngineRequest> requests;
  std::vector<int> forks;  // request indices forked right after they are added
  // Per request: cancel (1) or pause (2) it once it has shown `at` tokens; 0: neither.
  std::vector<int> action, at;
};

Workload make_workload(unsigned seed) {
  std::mt19937 rng(seed);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  Workload w;
  const int n = pick(4, 14);
  // A sampled row draws on the device or on the host (a different generator) depending on
  // the other rows of its step, and steps differ between the two runs under preemption: a
  // workload has sampled rows or rows that need the host, not both.
  const bool host_rows = pick(0, 1) == 1;
  std::vector<std::int32_t> shared;  // a prefix some prompts start with (prefix hits)
  for (int i = 0; i < 9; ++i)
    shared.push_back(pick(0, ToyBackend::kVocab - 1));
  for (int i = 0; i < n; ++i) {
    EngineRequest r;
    if (pick(0, 2) == 0) r.prompt = shared;
    const int len = pick(1, 12);
    for (int t = 0; t < len; ++t)
      r.prompt.push_back(pick(0, ToyBackend::kVocab - 1));
    r.params.temperature = 0.0f;
    r.params.max_tokens = pick(1, 24);
    r.params.ignore_eos = true;
    for (int k = pick(0, 3); k > 0; --k)
      r.params.stop_token_ids.push_back(pick(0, ToyBackend::kVocab - 1));
    const int kind = pick(0, 9);
    if (host_rows && kind == 0) r.params.repetition_penalty = 1.3f;  // sampled on the host
    if (host_rows && kind == 1) r.params.constraint = std::make_shared<NoSmallOdd>();
    if (!host_rows && kind == 2) r.params.temperature = 0.7f;  // the toy draws token 0

    if (pick(0, 3) == 0) {  // an agent turn: pauses at a stop token, resumed below
      r.pause_on_finish = 10s;
      r.pause_only_at_stop = true;
    }
    w.requests.push_back(std::move(r));
    if (pick(0, 5) == 0) w.forks.push_back(i);
    w.action.push_back(std::max(0, pick(-3, 2)));
    w.at.push_back(pick(1, 4));
  }
  return w;
}

struct Outcome {
  std::map<RequestId, std::vector<Seen>> events;
  std::int64_t launches = 0;
  kv::KvMetrics kv;
  EngineStats stats;
};

// Runs the workload to the end, cancelling or pausing requests when they have shown some
// tokens; a paused request is resumed once (tokens from its id) with a new max_tokens, the
// second pause cancels it.
Outcome drive(const Workload& w, bool overlap, int blocks, int max_running) {
  EngineOptions opt;
  opt.overlap_steps = overlap;
  opt.max_running = max_running;
  opt.max_tokens_per_step = 24;
  Rig rig(blocks, opt);
  rig.backend.on_device = true;
  rig.backend.overlap = true;  // the engine's option decides
  std::vector<RequestId> ids;
  for (std::size_t i = 0; i < w.requests.size(); ++i) {
    auto id = rig.engine->add_request(w.requests[i]);
    EXPECT_TRUE(id.ok()) << id.error().to_string();
    if (!id.ok()) return {};
    ids.push_back(*id);
    if (std::count(w.forks.begin(), w.forks.end(), static_cast<int>(i)) > 0) rig.engine->fork(*id);
  }
  Outcome run;
  std::map<RequestId, int> pauses, shown;
  std::map<RequestId, std::size_t> index;
  for (std::size_t i = 0; i < ids.size(); ++i)
    index[ids[i]] = i;
  for (int guard = 0; rig.engine->has_work(); ++guard) {
    EXPECT_LT(guard, 5000) << "no progress";
    if (guard >= 5000) break;
    auto ev = rig.engine->step();
    EXPECT_TRUE(ev.ok()) << ev.error().to_string();
    if (!ev.ok()) break;
    for (const auto& e : *ev) {
      run.events[e.request].push_back({e.kind, e.token, e.finish});
      if (e.kind == EventKind::token && !e.finish && index.count(e.request) > 0) {
        const std::size_t i = index[e.request];
        if (++shown[e.request] == w.at[i] && w.action[i] == 1) rig.engine->cancel(e.request);
        if (shown[e.request] == w.at[i] && w.action[i] == 2) rig.engine->pause(e.request, 10s);
      }
      if (e.kind != EventKind::paused) continue;
      if (pauses[e.request]++ > 0) {
        rig.engine->cancel(e.request);
        continue;
      }
      std::vector<std::int32_t> tool{static_cast<std::int32_t>(e.request % ToyBackend::kVocab), 5,
                                     9};
      ResumeOptions o;
      o.max_tokens = 6;
      rig.engine->resume(e.request, tool, o);
    }
  }
  run.launches = rig.backend.launches;
  run.kv = rig.engine->kv_metrics();
  run.stats = rig.engine->stats();
  return run;
}

void expect_same(const Outcome& sync, const Outcome& overlap, unsigned seed) {
  ASSERT_EQ(sync.events.size(), overlap.events.size()) << "seed " << seed;
  for (const auto& [id, want] : sync.events) {
    auto it = overlap.events.find(id);
    ASSERT_NE(it, overlap.events.end()) << "seed " << seed << " request " << id;
    ASSERT_EQ(it->second.size(), want.size()) << "seed " << seed << " request " << id;
    for (std::size_t k = 0; k < want.size(); ++k)
      EXPECT_EQ(it->second[k], want[k]) << "seed " << seed << " request " << id << " event " << k;
  }
  // Nothing is left held: every block is free or cached (pins expire only with the clock).
  EXPECT_EQ(overlap.kv.used_blocks, 0) << "seed " << seed;
  EXPECT_EQ(overlap.stats.decoded_tokens, sync.stats.decoded_tokens) << "seed " << seed;
}

TEST(EngineOverlap, SameEventsAsStepByStep) {
  std::int64_t overlapped = 0;
  for (unsigned seed = 1; seed <= 60; ++seed) {
    const Workload w = make_workload(seed);
    const Outcome sync = drive(w, false, 256, 64);
    const Outcome over = drive(w, true, 256, 64);
    EXPECT_EQ(sync.launches, 0);
    overlapped += over.launches;
    expect_same(sync, over, seed);
  }
  EXPECT_GT(overlapped, 0);
}

// A pool of 24 blocks of 4 tokens for up to 14 requests (and forks) of up to 45 tokens:
// sequences are preempted by swap and by recompute, some while their step is in flight.
TEST(EngineOverlap, SameEventsUnderPreemption) {
  std::int64_t preemptions = 0;
  for (unsigned seed = 100; seed < 160; ++seed) {
    const Workload w = make_workload(seed);
    const Outcome sync = drive(w, false, 24, 8);
    const Outcome over = drive(w, true, 24, 8);
    preemptions += over.stats.preemptions;
    expect_same(sync, over, seed);
  }
  EXPECT_GT(preemptions, 0);
}

// Each step() hands out the tokens of the step before it; the first returns none.
TEST(EngineOverlap, StepReturnsThePreviousStepsTokens) {
  EngineOptions opt;
  Rig rig(64, opt);
  rig.backend.on_device = true;
  rig.backend.overlap = true;
  auto r = testing::req(3, 5, 3);
  auto id = rig.engine->add_request(r);
  ASSERT_TRUE(id.ok());
  std::vector<std::size_t> per_step;
  while (rig.engine->has_work()) {
    auto ev = rig.engine->step();
    ASSERT_TRUE(ev.ok());
    per_step.push_back(ev->size());
  }
  // Three launches (prompt, 2 decodes). The first token gets no placeholder (a caller may
  // fork at it), so the second call only collects it; nor does the third, which ends the
  // turn at max_tokens: the last call only collects.
  EXPECT_EQ(per_step, (std::vector<std::size_t>{0, 1, 0, 1, 1}));
  EXPECT_EQ(rig.backend.launches, 3);
  EXPECT_EQ(rig.engine->stats().decoded_tokens, 3);
}

// A request cancelled while its step is in flight gets no token from that step, as step
// by step; its KV is released.
TEST(EngineOverlap, CancelWhileInFlight) {
  Rig rig(64);
  rig.backend.on_device = true;
  rig.backend.overlap = true;
  auto id = rig.engine->add_request(testing::req(3, 5, 20));
  ASSERT_TRUE(id.ok());
  std::vector<Seen> seen;
  for (int i = 0; i < 4; ++i) {
    auto ev = rig.engine->step();
    ASSERT_TRUE(ev.ok());
    for (const auto& e : *ev)
      seen.push_back({e.kind, e.token, e.finish});
  }
  ASSERT_EQ(seen.size(), 2u);  // launched 3 steps (the second call only collected), took 2
  rig.engine->cancel(*id);
  while (rig.engine->has_work()) {
    auto ev = rig.engine->step();
    ASSERT_TRUE(ev.ok());
    for (const auto& e : *ev)
      seen.push_back({e.kind, e.token, e.finish});
  }
  ASSERT_EQ(seen.size(), 3u);  // the token in flight is dropped, as if cancelled before it
  EXPECT_EQ(seen[2].kind, EventKind::cancelled);
  EXPECT_EQ(rig.engine->kv_metrics().used_blocks, 0);
}

// A request forked when its first token comes (EngineLoop's best-of-N after one prefill)
// forks with that token alone, as step by step: its next token is not yet in flight.
TEST(EngineOverlap, ForkAtTheFirstTokenCopiesOnlyIt) {
  auto run = [](bool overlap) {
    EngineOptions opt;
    opt.overlap_steps = overlap;
    Rig rig(64, opt);
    rig.backend.on_device = true;
    rig.backend.overlap = true;
    std::vector<RequestId> ids;
    for (int i = 0; i < 3; ++i)
      ids.push_back(*rig.engine->add_request(testing::req(3 + i, 5 + i, 9)));
    std::map<RequestId, std::vector<std::int32_t>> tokens;
    while (rig.engine->has_work()) {
      auto ev = rig.engine->step();
      EXPECT_TRUE(ev.ok());
      if (!ev.ok()) break;
      for (const auto& e : *ev) {
        if (e.kind != EventKind::token) continue;
        tokens[e.request].push_back(e.token);
        const bool original = std::count(ids.begin(), ids.end(), e.request) > 0;
        if (original && tokens[e.request].size() == 1) rig.engine->fork(e.request);
      }
    }
    return tokens;
  };
  const auto sync = run(false), over = run(true);
  ASSERT_EQ(sync.size(), 6u);
  EXPECT_EQ(over, sync);
}

// An engine dropped with a step in flight takes it back from the backend, so the next
// engine on that backend collects only its own steps.
TEST(EngineOverlap, DroppedEngineLeavesNoLaunchBehind) {
  Rig rig(64);
  rig.backend.on_device = true;
  rig.backend.overlap = true;
  ASSERT_TRUE(rig.engine->add_request(testing::req(3, 5, 20)).ok());
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(rig.engine->step().ok());
  rig.engine.reset();
  auto e = Engine::create({&rig.backend, &rig.config, "toy", nullptr, &rig.clock}, {});
  ASSERT_TRUE(e.ok());
  auto id = (*e)->add_request(testing::req(7, 4, 6));
  ASSERT_TRUE(id.ok());
  std::vector<std::int32_t> got;
  while ((*e)->has_work()) {
    auto ev = (*e)->step();
    ASSERT_TRUE(ev.ok()) << ev.error().to_string();
    for (const auto& x : *ev)
      if (x.kind == EventKind::token) got.push_back(x.token);
  }
  Rig fresh(64);
  fresh.backend.on_device = true;
  auto id2 = fresh.engine->add_request(testing::req(7, 4, 6));
  ASSERT_TRUE(id2.ok());
  std::vector<std::int32_t> want;
  while (fresh.engine->has_work()) {
    auto ev = fresh.engine->step();
    ASSERT_TRUE(ev.ok());
    for (const auto& x : *ev)
      if (x.kind == EventKind::token) want.push_back(x.token);
  }
  EXPECT_EQ(got, want);
}

// A launch that fails fails its step() call and leaves the step in flight as it was: the
// next calls go on, and every request ends with the tokens it would have had.
TEST(EngineOverlap, FailedLaunchLosesNothing) {
  auto run = [](std::int64_t fail_at) {
    Rig rig(64);
    rig.backend.on_device = true;
    rig.backend.overlap = true;
    rig.backend.fail_launch = fail_at;
    for (int i = 0; i < 4; ++i)
      EXPECT_TRUE(rig.engine->add_request(testing::req(3 + i, 5 + i, 8)).ok());
    std::map<RequestId, std::vector<std::int32_t>> tokens;
    int errors = 0;
    while (rig.engine->has_work()) {
      auto ev = rig.engine->step();
      if (!ev.ok()) {
        ++errors;
        continue;
      }
      for (const auto& e : *ev)
        if (e.kind == EventKind::token) tokens[e.request].push_back(e.token);
    }
    EXPECT_EQ(errors, fail_at >= 0 ? 1 : 0);
    return tokens;
  };
  const auto want = run(-1);
  ASSERT_EQ(want.size(), 4u);
  for (std::int64_t at : {1, 3, 5})
    EXPECT_EQ(run(at), want) << "launch " << at << " failed";
}

}  // namespace
}  // namespace agentrt
