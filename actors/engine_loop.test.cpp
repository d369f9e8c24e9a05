// The engine loop driven from plain threads (no CAF frames on the caller side, so TSan
// checks its locking even though libcaf_core is not instrumented): concurrent submit,
// cancel and metrics, fork after prefill, and the live-request bound with its wait queue.
// No test waits on the wall clock: each waits for tokens or ends (a hang guard aside), and
// checks run on the test's main thread.
#include "actors/engine_loop.h"

#include <gtest/gtest.h>

#include <future>
#include <set>
#include <thread>

#include "engine/cpu/cpu_backend.h"

namespace agentrt::actors {
namespace {

struct Tally {
  std::mutex mu;
  std::condition_variable cv;
  std::map<RequestId, int> tokens;
  std::set<RequestId> ended;
  std::map<RequestId, Error> errors;
};

caf::behavior collector(caf::event_based_actor*, std::shared_ptr<Tally> t) {
  return {[t](const TokenBatch& b) {
    std::lock_guard lock(t->mu);
    t->tokens[b.id] += static_cast<int>(b.tokens.size());
    if (b.finish || b.cancelled || b.error) t->ended.insert(b.id);
    if (b.error) t->errors[b.id] = *b.error;
    t->cv.notify_all();
  }};
}

struct LoopRig {
  std::shared_ptr<const model::Model> model;
  std::unique_ptr<cpu::CpuBackend> backend;
  std::unique_ptr<EngineLoop> loop;
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::shared_ptr<Tally> tally = std::make_shared<Tally>();
  caf::actor sub;

  explicit LoopRig(int max_live, int max_queued = kDefaultMaxQueuedRequests) {
    model = *model::Model::load(std::string(AGENTRT_SOURCE_DIR) + "/models/tiny-calc");
    backend = cpu::CpuBackend::create(model, {128, 16, 2}).value();
    auto e = Engine::create(
        {backend.get(), &model->config(), model->fingerprint(), nullptr, nullptr}, {});
    loop = std::make_unique<EngineLoop>(std::move(*e), max_live, backend->kv_geometry(), nullptr,
                                        max_queued);
#if defined(__SANITIZE_THREAD__)
    cfg.set("scheduler.policy", caf::atom("sharing"));
#endif
    sys = std::make_unique<caf::actor_system>(cfg);
    sub = sys->spawn(collector, tally);
  }
  ~LoopRig() {
    loop.reset();
    caf::anon_send_exit(sub, caf::exit_reason::user_shutdown);
  }
  GenerateMsg request(int seed, int max_tokens, int forks = 0) {
    GenerateMsg m;
    for (int t = 0; t < 20; ++t)
      m.request.prompt.push_back(10 + (seed * 13 + t * 7) % 700);
    m.request.params.max_tokens = max_tokens;
    m.request.params.ignore_eos = true;
    m.request.params.temperature = 0.0f;
    m.fork_after_prefill = forks;
    m.subscribers.assign(static_cast<std::size_t>(forks) + 1, sub);
    return m;
  }
  void wait_ended(std::size_t n) {
    std::unique_lock lock(tally->mu);
    ASSERT_TRUE(tally->cv.wait_for(lock, std::chrono::seconds(120),  // a hang guard only
                                   [&] { return tally->ended.size() >= n; }));
  }
  // The snapshot is taken right after a step's batches go out: wait for it to show idle.
  void wait_idle() {
    for (int i = 0; i < 120000 && loop->metrics().active_requests != 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    EXPECT_EQ(loop->metrics().active_requests, 0);
  }
  int count(RequestId r) {
    std::lock_guard lock(tally->mu);
    return tally->tokens[r];
  }
};

TEST(EngineLoop, ConcurrentSubmitCancelAndMetricsFromPlainThreads) {
  LoopRig rig(64);
  std::vector<std::thread> threads;
  std::atomic<int> submitted{0}, failed{0};
  std::atomic<bool> submitting{true};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 4; ++i) {
        auto id = rig.loop->submit(rig.request(t * 4 + i, 24));
        if (!id.ok()) {  // checked on the main thread
          ++failed;
          continue;
        }
        ++submitted;
        if (i == 3) rig.loop->cancel(*id);
      }
    });
  }
  std::thread poller([&] {
    while (submitting.load())
      (void)rig.loop->metrics();
  });
  for (auto& th : threads)
    th.join();
  submitting = false;
  poller.join();
  ASSERT_EQ(failed.load(), 0);
  ASSERT_EQ(submitted.load(), 16);
  rig.wait_ended(16);
  {
    std::lock_guard lock(rig.tally->mu);
    int full = 0;
    for (const auto& [id, n] : rig.tally->tokens)
      full += n == 24 ? 1 : 0;
    EXPECT_GE(full, 12) << "every request not cancelled generates all its tokens";
  }
  rig.wait_idle();
}

TEST(EngineLoop, ForkAfterPrefillSharesThePrompt) {
  LoopRig rig(4);
  auto id = rig.loop->submit(rig.request(1, 8, 3));  // 4 live requests: the bound
  ASSERT_TRUE(id.ok());
  EXPECT_NE(*id, 0) << "admitted at once";
  rig.wait_ended(4);
  rig.wait_idle();
  const auto m = rig.loop->metrics();
  EXPECT_EQ(m.engine.prefilled_tokens, 20) << "the prompt is prefilled once for 4 samples";
  EXPECT_EQ(m.rejected_requests, 0);
  std::lock_guard lock(rig.tally->mu);
  EXPECT_EQ(rig.tally->tokens.size(), 4u);
  for (const auto& [rid, n] : rig.tally->tokens)
    EXPECT_EQ(n, 8) << "request " << rid;
}

// More forks than live slots could never be admitted whole: they run as independent
// samples, a few at a time, instead of failing.
TEST(EngineLoop, ForksBeyondTheBoundRunAsWaitingSamples) {
  LoopRig rig(4);
  auto id = rig.loop->submit(rig.request(1, 8, 9));  // 10 samples on 4 slots
  ASSERT_TRUE(id.ok()) << id.error().to_string();
  rig.wait_ended(10);
  rig.wait_idle();
  EXPECT_EQ(rig.loop->metrics().rejected_requests, 0);
  std::lock_guard lock(rig.tally->mu);
  EXPECT_EQ(rig.tally->tokens.size(), 10u);
  for (const auto& [rid, n] : rig.tally->tokens)
    EXPECT_EQ(n, 8) << "request " << rid;
}

TEST(EngineLoop, IndependentSamplesMapTheProbesPrefill) {
  LoopRig rig(8);
  GenerateMsg m = rig.request(2, 8);
  m.samples_after_prefill = 4;
  m.subscribers.assign(4, rig.sub);
  ASSERT_TRUE(rig.loop->submit(std::move(m)).ok());
  rig.wait_ended(4);
  rig.wait_idle();
  const auto met = rig.loop->metrics();
  // 20-token prompt: the probe computes 20; each sample maps the full block (16) and
  // computes the other 4.
  EXPECT_EQ(met.engine.prefilled_tokens, 20 + 4 * 4);
  EXPECT_EQ(met.kv.hit_tokens[0], 4 * 16);
  std::lock_guard lock(rig.tally->mu);
  EXPECT_EQ(rig.tally->tokens.size(), 4u) << "the probe's token goes to nobody";
  for (const auto& [rid, n] : rig.tally->tokens)
    EXPECT_EQ(n, 8) << "request " << rid;
}

// A probe's samples beyond the bound wait for slots and still map its prefill.
TEST(EngineLoop, SamplesBeyondTheBoundWaitForSlots) {
  LoopRig rig(3);
  GenerateMsg m = rig.request(3, 6);
  m.samples_after_prefill = 12;
  m.subscribers.assign(12, rig.sub);
  ASSERT_TRUE(rig.loop->submit(std::move(m)).ok());
  rig.wait_ended(12);
  rig.wait_idle();
  const auto met = rig.loop->metrics();
  EXPECT_EQ(met.rejected_requests, 0);
  EXPECT_EQ(met.queued_requests, 0);
  EXPECT_EQ(met.kv.hit_tokens[0], 12 * 16) << "every sample mapped the probe's full block";
  std::lock_guard lock(rig.tally->mu);
  EXPECT_EQ(rig.tally->tokens.size(), 12u);
  for (const auto& [rid, n] : rig.tally->tokens)
    EXPECT_EQ(n, 6) << "request " << rid;
}

// Submits beyond the bound queue (id 0) and all complete; past the queue's cap a submit is
// overloaded.
TEST(EngineLoop, SubmitsQueueBehindTheBoundUpToTheCap) {
  LoopRig rig(2, 4);
  int queued = 0;
  for (int i = 0; i < 6; ++i) {
    // The two live ones outlast the submits, however the threads are scheduled.
    auto id = rig.loop->submit(rig.request(10 + i, i < 2 ? 100 : 12));
    ASSERT_TRUE(id.ok()) << id.error().to_string();
    queued += *id == 0 ? 1 : 0;
  }
  auto over = rig.loop->submit(rig.request(20, 12));
  EXPECT_EQ(queued, 4) << "2 live, 4 waiting";
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code, ErrorCode::overloaded);
  EXPECT_NE(over.error().message.find("max_queued_requests 4"), std::string::npos)
      << over.error().message;
  rig.wait_ended(6);
  rig.wait_idle();
  EXPECT_EQ(rig.loop->metrics().rejected_requests, 1);
  std::lock_guard lock(rig.tally->mu);
  EXPECT_EQ(rig.tally->tokens.size(), 6u);
  std::multiset<int> counts;
  for (const auto& [rid, n] : rig.tally->tokens)
    counts.insert(n);
  EXPECT_EQ(counts, (std::multiset<int>{12, 12, 12, 12, 100, 100}));
}

TEST(EngineLoop, ExplicitPauseForkAndResume) {
  LoopRig rig(8);
  auto id = rig.loop->submit(rig.request(5, 40));
  ASSERT_TRUE(id.ok());
  while (rig.count(*id) < 5)  // waits for tokens (a hang shows as the ctest timeout)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_TRUE(rig.loop->pause(*id, std::chrono::hours(1)).ok());
  // Another request runs 30 steps to its end. The paused one may finish the step that was in
  // flight when pause() came, and its batches reach the subscriber before the other's end
  // (one sender, in order), so its count is final once that end is seen: the subscriber may
  // still be behind the engine when pause() returns (TSan).
  auto other = rig.loop->submit(rig.request(6, 30));
  ASSERT_TRUE(other.ok());
  rig.wait_ended(1);
  const int paused_at = rig.count(*id);
  EXPECT_LT(paused_at, 40) << "paused before its end";
  // A third request's 30 steps add nothing to it either.
  ASSERT_TRUE(rig.loop->submit(rig.request(8, 30)).ok());
  rig.wait_ended(2);
  EXPECT_EQ(rig.count(*id), paused_at) << "a paused request generates nothing";
  EXPECT_GT(rig.loop->metrics().kv.pinned_blocks, 0);
  auto child = rig.loop->fork(*id, rig.sub);
  ASSERT_TRUE(child.ok());
  EXPECT_FALSE(rig.loop->fork(999, rig.sub).ok());
  EXPECT_FALSE(rig.loop->pause(999, std::chrono::seconds(1)).ok());
  ASSERT_TRUE(rig.loop->resume({*id, {}, std::nullopt, std::nullopt}).ok());
  ASSERT_TRUE(rig.loop->resume({*child, {}, std::nullopt, std::nullopt}).ok());
  EXPECT_FALSE(rig.loop->resume({*id, {}, std::nullopt, std::nullopt}).ok()) << "not paused";
  rig.wait_ended(4);
  EXPECT_EQ(rig.count(*id), paused_at + 40) << "max_tokens counts from the resumed turn";
  EXPECT_EQ(rig.count(*child), 40);
}

// An engine error event reaches the subscriber with its code: a resume with a token outside
// the vocabulary ends the request as invalid_argument, not internal.
TEST(EngineLoop, EngineErrorsKeepTheirCode) {
  LoopRig rig(8);
  auto id = rig.loop->submit(rig.request(7, 400));  // still running when the pause comes
  ASSERT_TRUE(id.ok());
  while (rig.count(*id) < 2)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_TRUE(rig.loop->pause(*id, std::chrono::hours(1)).ok());
  // The engine applies the pause, then this resume, in order.
  ASSERT_TRUE(rig.loop->resume({*id, {-1}, std::nullopt, std::nullopt}).ok());
  rig.wait_ended(1);
  std::lock_guard lock(rig.tally->mu);
  ASSERT_EQ(rig.tally->errors.count(*id), 1u);
  EXPECT_EQ(rig.tally->errors[*id].code, ErrorCode::invalid_argument)
      << rig.tally->errors[*id].to_string();
}

// Scripted turns of a fixed length (EngineRequest::pause_on_finish): the Engine pauses at
// max_tokens, the loop routes that as a pause and keeps the request; a re-pin and a resume
// with appended tokens continue it, and the resumed turn's prompt is served from the pin.
TEST(EngineLoop, PauseOnFinishRepinAndResume) {
  LoopRig rig(8);
  GenerateMsg m = rig.request(7, 12);
  m.request.pause_on_finish = std::chrono::hours(1);
  auto id = rig.loop->submit(std::move(m));
  ASSERT_TRUE(id.ok());
  while (rig.loop->metrics().paused_requests != 1)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  // The snapshot can show the pause before the subscriber has taken the turn's last batch
  // (seen under TSan): wait for that batch, or a later clear of `ended` would miss it.
  rig.wait_ended(1);
  EXPECT_EQ(rig.count(*id), 12);
  EXPECT_EQ(rig.tally->ended.count(*id), 1u) << "the turn's last batch has its finish";
  EXPECT_GT(rig.loop->metrics().kv.pinned_blocks, 0);
  ASSERT_TRUE(rig.loop->repin(*id, std::chrono::seconds(30)).ok());
  EXPECT_FALSE(rig.loop->repin(999, std::chrono::seconds(1)).ok());
  {
    std::lock_guard lock(rig.tally->mu);
    rig.tally->ended.clear();
  }
  ASSERT_TRUE(rig.loop->resume({*id, {5, 6, 7}, 8, std::nullopt}).ok());
  rig.wait_ended(1);
  EXPECT_EQ(rig.count(*id), 20);
  rig.loop->cancel(*id);
  rig.wait_idle();
  // The first pause's pin, the re-pin, and the second turn's pause at its finish.
  EXPECT_EQ(rig.loop->metrics().kv.pins_created, 3);
}

}  // namespace
}  // namespace agentrt::actors
