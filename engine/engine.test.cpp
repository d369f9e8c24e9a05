// Engine unit tests on a toy backend: thread-safe submission, program-aware order,
// cancellation and fork bookkeeping.
#include "engine/engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <map>
#include <set>
#include <thread>

#include "engine/kv/host_tier.h"
#include "engine/toy_backend.h"

namespace agentrt {
namespace {

using namespace std::chrono_literals;
using testing::req;
using testing::Rig;
using testing::ToyBackend;

// Submitters record what happened; every check runs on this (the engine) thread, after
// the submitters are joined, so a failed submission fails the test instead of hanging it.
TEST(Engine, ConcurrentSubmissionAndCancellation) {
  Rig rig(24);
  constexpr int kThreads = 4, kEach = 15;
  std::atomic<int> attempted{0};
  std::vector<std::thread> threads;
  std::mutex mu;
  std::set<RequestId> ids;
  std::vector<std::string> submit_errors;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto id = rig.engine->add_request(req(t * 7 + i, 5 + i % 9, 6));
        {
          std::lock_guard lock(mu);
          if (id.ok()) {
            ids.insert(*id);
          } else {
            submit_errors.push_back(id.error().to_string());
          }
        }
        if (id.ok() && i % 5 == 0) rig.engine->cancel(*id);
        ++attempted;
      }
    });
  }
  std::set<RequestId> ended;
  std::vector<std::string> step_errors;
  int duplicates = 0;
  while (attempted.load() < kThreads * kEach || rig.engine->has_work()) {
    auto ev = rig.engine->step();
    if (!ev.ok()) {
      step_errors.push_back(ev.error().to_string());
      break;
    }
    for (const auto& e : *ev) {
      if ((e.finish || e.kind == EventKind::cancelled) && !ended.insert(e.request).second) {
        ++duplicates;
      }
    }
  }
  for (auto& th : threads)
    th.join();
  EXPECT_TRUE(submit_errors.empty()) << submit_errors.front();
  ASSERT_TRUE(step_errors.empty()) << step_errors.front();
  EXPECT_EQ(duplicates, 0) << "a request ended twice";
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kThreads * kEach));
  EXPECT_EQ(ended, ids);
}

TEST(Engine, ResumedTurnGoesAheadOfNewProgram) {
  EngineOptions opt;
  opt.max_running = 1;
  Rig rig(32, opt);
  auto a = req(1, 9, 3);
  a.pause_on_finish = 5s;
  auto ida = rig.engine->add_request(a);
  while (rig.engine->has_work())
    ASSERT_TRUE(rig.engine->step().ok());
  auto idb = rig.engine->add_request(req(20, 9, 3));  // a new program, queued first
  rig.engine->resume(*ida, {3, 4, 5}, {.max_tokens = 3});
  std::vector<RequestId> order;
  while (rig.engine->has_work()) {
    auto ev = rig.engine->step();
    ASSERT_TRUE(ev.ok());
    for (const auto& e : *ev) {
      if (e.kind == EventKind::token) order.push_back(e.request);
    }
  }
  ASSERT_EQ(order.size(), 6u);
  EXPECT_EQ(order.front(), *ida);
  EXPECT_EQ(order.back(), *idb);
  EXPECT_GT(rig.engine->kv_metrics().hit_tokens[0], 0);
}

// A persistent tier shared by backends of two block layouts: each hits only blocks saved
// under its own layout (Backend::kv_layout enters the block keys).
TEST(Engine, PersistentTierHitsOnlyTheSameBlockLayout) {
  kv::HostTier shared(1u << 20);  // not thread_safe(): written on the engine thread
  auto fill = [&] {
    Rig rig(6, {}, &shared, "layout a");
    ASSERT_TRUE(rig.engine->add_request(req(1, 12, 2)).ok());
    ASSERT_TRUE(rig.engine->add_request(req(9, 20, 2)).ok());  // evicts the first's blocks
    while (rig.engine->has_work())
      ASSERT_TRUE(rig.engine->step().ok());
    EXPECT_GT(rig.engine->kv_metrics().persisted_blocks, 0);
  };
  auto hits = [&](const std::string& layout) {
    Rig rig(6, {}, &shared, layout);
    EXPECT_TRUE(rig.engine->add_request(req(1, 12, 2)).ok());
    while (rig.engine->has_work())
      EXPECT_TRUE(rig.engine->step().ok());
    return rig.engine->kv_metrics().hit_tokens[2];  // [1] is the (empty) host tier
  };
  fill();
  EXPECT_EQ(hits("layout b"), 0);
  EXPECT_EQ(hits("layout a"), 8);  // whole blocks short of the last token, recomputed for logits
}

TEST(Engine, RejectsRequestsThatCanNeverFit) {
  Rig rig(2);
  auto r = rig.engine->add_request(req(0, 20, 4));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::out_of_memory);
  EXPECT_FALSE(rig.engine->add_request(req(0, 0, 4)).ok());
}

// The step timers: the backend's forward is a part of the step, and both grow.
TEST(Engine, StatsTimeStepsAndTheirForward) {
  Rig rig(32);
  ASSERT_TRUE(rig.engine->add_request(req(1, 5, 6)).ok());
  while (rig.engine->has_work())
    ASSERT_TRUE(rig.engine->step().ok());
  const EngineStats s = rig.engine->stats();
  EXPECT_GT(s.steps, 0);
  EXPECT_GT(s.forward_seconds, 0.0);
  EXPECT_GE(s.step_seconds, s.forward_seconds);
}

TEST(Engine, RejectsBadOptionsAndTokens) {
  ToyBackend backend(8, 4);
  model::ModelConfig config;
  config.vocab_size = ToyBackend::kVocab;
  config.max_position_embeddings = 4096;
  kv::FakeClock clock;
  EngineOptions opt;
  opt.max_running = 0;
  auto bad = Engine::create({&backend, &config, "toy", nullptr, &clock}, opt);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("max_running"), std::string::npos);
  ToyBackend huge(1, 4);
  const_cast<KvGeometry&>(huge.kv_geometry()).num_blocks = 300000000;  // never allocated
  auto too_many = Engine::create({&huge, &config, "toy", nullptr, &clock}, {});
  ASSERT_FALSE(too_many.ok());
  EXPECT_NE(too_many.error().message.find("300000000 KV blocks is outside [1, 4194304]"),
            std::string::npos)
      << too_many.error().message;

  Rig rig(8);
  auto r = req(0, 5, 2);
  r.prompt[2] = ToyBackend::kVocab;  // one past the vocabulary: the step would fail for all
  auto id = rig.engine->add_request(r);
  ASSERT_FALSE(id.ok());
  EXPECT_NE(id.error().message.find("prompt token 2: id 32 is outside the vocabulary [0, 32)"),
            std::string::npos)
      << id.error().message;
}

TEST(Engine, BadResumeEndsTheRequest) {
  Rig rig(16);
  auto a = req(1, 5, 2);
  a.pause_on_finish = 5s;
  auto id = rig.engine->add_request(a);
  while (rig.engine->has_work())
    ASSERT_TRUE(rig.engine->step().ok());
  rig.engine->resume(*id, {3, -1}, {.max_tokens = 2});
  auto ev = rig.engine->step();
  ASSERT_TRUE(ev.ok());
  ASSERT_EQ(ev->size(), 1u);
  EXPECT_EQ((*ev)[0].kind, EventKind::error);
  EXPECT_EQ((*ev)[0].code, ErrorCode::invalid_argument);
  EXPECT_NE((*ev)[0].message.find("appended token 1: id -1"), std::string::npos)
      << (*ev)[0].message;
  EXPECT_FALSE(rig.engine->has_work());
}

// The Engine owns an agent's pause: with pause_only_at_stop a turn pauses at its stop token
// (here the tokenizer-style extra EOS) and ends at max_tokens; a resume can drop the pause
// so the next turn's stop ends the request.
TEST(Engine, PauseOnlyAtStopPausesAtAStopTokenAndEndsAtMaxTokens) {
  auto events_of = [](Engine& e) {
    std::vector<EngineEvent> all;
    while (e.has_work()) {
      auto ev = e.step();
      EXPECT_TRUE(ev.ok());
      if (ev.ok()) all.insert(all.end(), ev->begin(), ev->end());
    }
    return all;
  };
  std::int32_t first = -1;
  {
    Rig probe(32);
    (void)probe.engine->add_request(req(1, 9, 1));
    for (const auto& e : events_of(*probe.engine))
      if (e.kind == EventKind::token) first = e.token;
  }
  ASSERT_GE(first, 0);

  // No stop token within max_tokens: the turn ends the request, it does not pause.
  Rig plain(32);
  auto a = req(1, 9, 2);
  a.pause_on_finish = 5s;
  a.pause_only_at_stop = true;
  ASSERT_TRUE(plain.engine->add_request(a).ok());
  auto ev = events_of(*plain.engine);
  ASSERT_FALSE(ev.empty());
  EXPECT_EQ(ev.back().finish, FinishReason::length);
  for (const auto& e : ev)
    EXPECT_NE(e.kind, EventKind::paused);
  EXPECT_EQ(plain.engine->kv_metrics().pins_created, 0);

  // The first token is an EOS (extra_eos_ids): the turn pauses, KV pinned.
  EngineOptions opt;
  opt.extra_eos_ids = {first};
  Rig agent(32, opt);
  auto id = agent.engine->add_request(a);
  ASSERT_TRUE(id.ok());
  ev = events_of(*agent.engine);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].finish, FinishReason::stop_token);
  EXPECT_EQ(ev[1].kind, EventKind::paused);
  EXPECT_EQ(agent.engine->kv_metrics().pins_created, 1);
  // Resumed without a pause rule: the next turn's end ends the request.
  agent.engine->resume(*id, {3, 4}, {.max_tokens = 2, .set_pause = true});
  ev = events_of(*agent.engine);
  ASSERT_FALSE(ev.empty());
  EXPECT_TRUE(ev.back().finish.has_value());
  for (const auto& e : ev)
    EXPECT_NE(e.kind, EventKind::paused);
  agent.engine->resume(*id, {5}, {.max_tokens = 2});  // gone: ignored
  EXPECT_TRUE(events_of(*agent.engine).empty());
}

// Allows only `token`, never complete (the turn runs to max_tokens).
class OnlyToken final : public sampling::Constraint {
 public:
  explicit OnlyToken(std::int32_t token) : token_(token) {}
  class State final : public sampling::ConstraintState {
   public:
    explicit State(std::int32_t t) : t_(t) {}
    void allowed(sampling::TokenMask& mask) const override { mask.set(t_); }
    bool accept(std::int32_t token) override { return token == t_; }
    bool complete() const override { return false; }
    std::unique_ptr<sampling::ConstraintState> clone() const override {
      return std::make_unique<State>(*this);
    }

   private:
    std::int32_t t_;
  };
  std::unique_ptr<sampling::ConstraintState> start() const override {
    return std::make_unique<State>(token_);
  }
  std::span<const std::int32_t> end_tokens() const override { return {}; }

 private:
  std::int32_t token_;
};

// resume() may set a constraint for the turns to come (an agent's JSON answer) and clear it.
TEST(Engine, ResumeSetsAndClearsTheConstraint) {
  auto events_of = [](Engine& e) {
    std::vector<EngineEvent> all;
    while (e.has_work()) {
      auto ev = e.step();
      EXPECT_TRUE(ev.ok());
      if (ev.ok()) all.insert(all.end(), ev->begin(), ev->end());
    }
    return all;
  };
  std::int32_t first = -1;
  {
    Rig probe(32);
    (void)probe.engine->add_request(req(1, 9, 1));
    for (const auto& e : events_of(*probe.engine))
      if (e.kind == EventKind::token) first = e.token;
  }
  ASSERT_GE(first, 0);
  EngineOptions opt;
  opt.extra_eos_ids = {first};  // the first turn pauses at once
  auto turn_tokens = [](const std::vector<EngineEvent>& ev) {
    std::vector<std::int32_t> t;
    for (const auto& e : ev)
      if (e.kind == EventKind::token) t.push_back(e.token);
    return t;
  };
  // mode 0: no constraint; 1: the resume sets one; 2: the request starts with one (that
  // allows only the EOS id), the resume clears it.
  auto run = [&](int mode) {
    Rig rig(32, opt);
    auto a = req(1, 9, 4);
    a.pause_on_finish = 5s;
    a.pause_only_at_stop = true;
    if (mode == 2) a.params.constraint = std::make_shared<OnlyToken>(first);
    auto id = rig.engine->add_request(a);
    EXPECT_TRUE(id.ok());
    EXPECT_EQ(turn_tokens(events_of(*rig.engine)), std::vector<std::int32_t>{first});
    ResumeOptions o{.max_tokens = 4};
    if (mode > 0) o.set_constraint = true;
    if (mode == 1) o.constraint = std::make_shared<OnlyToken>((first + 5) % ToyBackend::kVocab);
    rig.engine->resume(*id, {3, 4}, o);
    return turn_tokens(events_of(*rig.engine));
  };
  const auto free = run(0);
  const auto constrained = run(1);
  EXPECT_EQ(run(2), free);
  ASSERT_EQ(constrained.size(), 4u);
  for (auto t : constrained)
    EXPECT_EQ(t, (first + 5) % ToyBackend::kVocab);
  EXPECT_NE(free, constrained);
}

// Non-finite logits fail only the request whose row they are in, naming the step.
TEST(Engine, NonFiniteLogitsFailOnlyThatRequest) {
  Rig rig(32);
  rig.backend.nan_at_pos = 6;  // the 5-token prompt's third output token
  auto a = rig.engine->add_request(req(1, 5, 6));
  auto b = rig.engine->add_request(req(9, 9, 4));
  std::map<RequestId, std::vector<EngineEvent>> got;
  while (rig.engine->has_work()) {
    auto ev = rig.engine->step();
    ASSERT_TRUE(ev.ok());
    for (auto& e : *ev)
      got[e.request].push_back(e);
  }
  ASSERT_EQ(got[*a].size(), 3u);
  EXPECT_EQ(got[*a].back().kind, EventKind::error);
  EXPECT_EQ(got[*a].back().message, "non-finite logits at step 2 (token 31: inf)");
  ASSERT_EQ(got[*b].size(), 4u);
  EXPECT_EQ(got[*b].back().finish, FinishReason::length);
}

// A tiny temperature is greedy on the device too: the device sees temperature 0 and gives
// the same tokens as a host-sampled greedy run.
TEST(Engine, TinyTemperatureIsGreedyOnTheDevice) {
  auto run = [](bool on_device, float temperature) {
    Rig rig(32);
    rig.backend.on_device = on_device;
    auto r = req(4, 6, 5);
    r.params.temperature = temperature;
    EXPECT_TRUE(rig.engine->add_request(r).ok());
    std::vector<std::int32_t> tokens;
    while (rig.engine->has_work()) {
      auto ev = rig.engine->step();
      EXPECT_TRUE(ev.ok());
      for (const auto& e : *ev)
        tokens.push_back(e.token);
    }
    for (const auto& row : rig.backend.device_rows)
      EXPECT_EQ(row.temperature, 0.0f);
    EXPECT_EQ(rig.backend.device_rows.size(), on_device ? tokens.size() : 0u);
    return tokens;
  };
  const auto greedy = run(false, 0.0f);
  ASSERT_EQ(greedy.size(), 5u);
  EXPECT_EQ(run(false, 1e-38f), greedy);
  EXPECT_EQ(run(true, 1e-38f), greedy);
  EXPECT_EQ(run(true, 1e-6f), greedy);
}

// Allows token (3 + 5k) % 32 at output position k, then only its end token 31 (complete).
class Stride final : public sampling::Constraint {
 public:
  class State final : public sampling::ConstraintState {
   public:
    void allowed(sampling::TokenMask& mask) const override {
      if (k_ < 3) mask.set((3 + 5 * k_) % 32);
      if (k_ == 3) mask.set(31);
    }
    bool accept(std::int32_t token) override {
      if (k_ >= 3 || token != (3 + 5 * k_) % 32) return false;
      ++k_;
      return true;
    }
    bool complete() const override { return k_ == 3; }
    std::unique_ptr<sampling::ConstraintState> clone() const override {
      return std::make_unique<State>(*this);
    }

   private:
    int k_ = 0;
  };
  std::unique_ptr<sampling::ConstraintState> start() const override {
    return std::make_unique<State>();
  }
  std::span<const std::int32_t> end_tokens() const override { return end_; }

 private:
  std::vector<std::int32_t> end_{31};
};

// Structured output on a backend that applies token masks: the host computes each step's
// mask from the tokens so far, the device draws within it, and the tokens equal the
// host-sampled ones (greedy and sampled); with logprobs the batch samples on the host.
TEST(Engine, ConstrainedRowsSampleOnTheDeviceWithTheirMasks) {
  auto run = [](bool on_device, float temperature, int logprobs) {
    Rig rig(32);
    rig.backend.on_device = on_device;
    auto r = req(4, 6, 8);
    r.params.temperature = temperature;
    r.params.logprobs = logprobs;
    r.params.constraint = std::make_shared<Stride>();
    r.params.stop_token_ids = {31};  // the constraint's end token ends the turn
    EXPECT_TRUE(rig.engine->add_request(r).ok());
    std::vector<std::int32_t> tokens;
    while (rig.engine->has_work()) {
      auto ev = rig.engine->step();
      EXPECT_TRUE(ev.ok());
      for (const auto& e : *ev)
        if (e.kind == EventKind::token) tokens.push_back(e.token);
    }
    const bool device = on_device && logprobs < 0;
    EXPECT_EQ(rig.backend.masked_rows, device ? 4 : 0);
    EXPECT_EQ(rig.backend.device_rows.size(), device ? 4u : 0u);
    return tokens;
  };
  const std::vector<std::int32_t> want{3, 8, 13, 31};  // 31: the end token, once complete
  EXPECT_EQ(run(false, 0.0f, -1), want);
  EXPECT_EQ(run(true, 0.0f, -1), want);
  EXPECT_EQ(run(true, 0.8f, -1), want);  // one allowed token: any draw gives it
  EXPECT_EQ(run(true, 0.0f, 0), want);   // logprobs: on the host
}

// Many constrained rows in one step: each row's mask comes from its own tokens.
TEST(Engine, ManyConstrainedRowsGetTheirOwnMasks) {
  Rig rig(64);
  rig.backend.on_device = true;
  for (int i = 0; i < 24; ++i) {
    auto r = req(1 + i % 5, 4, 8);
    r.params.constraint = std::make_shared<Stride>();
    r.params.stop_token_ids = {31};
    ASSERT_TRUE(rig.engine->add_request(r).ok());
  }
  std::map<RequestId, std::vector<std::int32_t>> tokens;
  while (rig.engine->has_work()) {
    auto ev = rig.engine->step();
    ASSERT_TRUE(ev.ok());
    for (const auto& e : *ev)
      if (e.kind == EventKind::token) tokens[e.request].push_back(e.token);
  }
  ASSERT_EQ(tokens.size(), 24u);
  for (const auto& [id, t] : tokens)
    EXPECT_EQ(t, (std::vector<std::int32_t>{3, 8, 13, 31})) << "request " << id;
  EXPECT_EQ(rig.backend.masked_rows, 24 * 4);
}

// max_requests bounds the requests held at once (forks included); finished ones free slots.
TEST(Engine, MaxRequestsBoundsHeldRequests) {
  EngineOptions opt;
  opt.max_requests = 2;
  Rig rig(32, opt);
  auto a = rig.engine->add_request(req(1, 5, 3));
  auto b = rig.engine->add_request(req(2, 5, 3));
  ASSERT_TRUE(a.ok() && b.ok());
  auto c = rig.engine->add_request(req(3, 5, 3));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::overloaded);
  EXPECT_NE(c.error().message.find("2 requests held (EngineOptions::max_requests)"),
            std::string::npos)
      << c.error().message;
  const RequestId child = rig.engine->fork(*a);
  std::map<RequestId, std::vector<EngineEvent>> got;
  while (rig.engine->has_work()) {
    auto ev = rig.engine->step();
    ASSERT_TRUE(ev.ok());
    for (auto& e : *ev)
      got[e.request].push_back(e);
  }
  ASSERT_EQ(got[child].size(), 1u);
  EXPECT_EQ(got[child][0].kind, EventKind::error);
  EXPECT_EQ(got[child][0].code, ErrorCode::overloaded);
  EXPECT_EQ(got[*a].size(), 3u);
  EXPECT_TRUE(rig.engine->add_request(req(3, 5, 3)).ok());  // both ended: slots are free
  EXPECT_TRUE(rig.engine->add_request(req(4, 5, 3)).ok());
  EXPECT_FALSE(rig.engine->add_request(req(5, 5, 3)).ok());
}

TEST(Engine, ForkedSamplesFinishIndependently) {
  Rig rig(32);
  auto id = rig.engine->add_request(req(3, 6, 10));
  ASSERT_TRUE(rig.engine->step().ok());
  std::vector<RequestId> kids;
  for (int i = 0; i < 3; ++i)
    kids.push_back(rig.engine->fork(*id));
  std::map<RequestId, int> finished;
  while (rig.engine->has_work()) {
    auto ev = rig.engine->step();
    ASSERT_TRUE(ev.ok());
    for (const auto& e : *ev) {
      if (e.finish) ++finished[e.request];
    }
  }
  EXPECT_EQ(finished.size(), 4u);
  EXPECT_GT(rig.engine->kv_metrics().cow_copies, 0);
}

}  // namespace
}  // namespace agentrt
