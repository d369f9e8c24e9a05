// The engine loop driven from plain threads (no CAF frames on the caller side, so TSan
// checks its locking even though libcaf_core is not instrumented): concurrent submit,
// cancel and metrics, fork after prefill, and the live-request bound.
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
};

caf::behavior collector(caf::event_based_actor*, std::shared_ptr<Tally> t) {
  return {[t](const TokenBatch& b) {
    std::lock_guard lock(t->mu);
    t->tokens[b.id] += static_cast<int>(b.tokens.size());
    if (b.finish || b.cancelled || b.error) t->ended.insert(b.id);
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

  explicit LoopRig(int max_live) {
    model = *model::Model::load(std::string(AGENTRT_SOURCE_DIR) + "/models/tiny-calc");
    backend = cpu::CpuBackend::create(model, {128, 16, 2}).value();
    auto e = Engine::create(
        {backend.get(), &model->config(), model->fingerprint(), nullptr, nullptr}, {});
    loop = std::make_unique<EngineLoop>(std::move(*e), model->config().eos_token_ids, max_live,
                                        backend->kv_geometry(), nullptr);
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
    ASSERT_TRUE(tally->cv.wait_for(lock, std::chrono::seconds(60),
                                   [&] { return tally->ended.size() >= n; }));
  }
};

TEST(EngineLoop, ConcurrentSubmitCancelAndMetricsFromPlainThreads) {
  LoopRig rig(64);
  std::vector<std::thread> threads;
  std::atomic<int> submitted{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 4; ++i) {
        auto id = rig.loop->submit(rig.request(t * 4 + i, 24));
        ASSERT_TRUE(id.ok()) << id.error().to_string();
        ++submitted;
        if (i == 3) rig.loop->cancel(*id);
      }
    });
  }
  std::thread poller([&] {
    for (int i = 0; i < 50; ++i) {
      (void)rig.loop->metrics();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  for (auto& th : threads)
    th.join();
  poller.join();
  rig.wait_ended(16);
  std::lock_guard lock(rig.tally->mu);
  int full = 0;
  for (const auto& [id, n] : rig.tally->tokens)
    full += n == 24 ? 1 : 0;
  EXPECT_GE(full, 12) << "every request not cancelled generates all its tokens";
  // The snapshot is taken right after the batches go out: wait for it.
  for (int i = 0; i < 1000 && rig.loop->metrics().active_requests != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(rig.loop->metrics().active_requests, 0);
}

TEST(EngineLoop, ForkAfterPrefillSharesThePromptAndTheBoundHolds) {
  LoopRig rig(4);
  auto over = rig.loop->submit(rig.request(1, 8, 4));  // 5 live requests > 4
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code, ErrorCode::overloaded);
  auto id = rig.loop->submit(rig.request(1, 8, 3));
  ASSERT_TRUE(id.ok());
  rig.wait_ended(4);
  for (int i = 0; i < 1000 && rig.loop->metrics().active_requests != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const auto m = rig.loop->metrics();
  EXPECT_EQ(m.engine.prefilled_tokens, 20) << "the prompt is prefilled once for 4 samples";
  EXPECT_EQ(m.rejected_requests, 1);
  std::lock_guard lock(rig.tally->mu);
  for (const auto& [rid, n] : rig.tally->tokens)
    EXPECT_EQ(n, 8) << "request " << rid;
}

TEST(EngineLoop, IndependentSamplesMapTheProbesPrefill) {
  LoopRig rig(8);
  GenerateMsg m = rig.request(2, 8);
  m.samples_after_prefill = 4;
  m.subscribers.assign(4, rig.sub);
  auto over = m;
  over.samples_after_prefill = 8;  // 1 probe + 8 samples > 8
  over.subscribers.assign(8, rig.sub);
  EXPECT_EQ(rig.loop->submit(std::move(over)).error().code, ErrorCode::overloaded);
  ASSERT_TRUE(rig.loop->submit(std::move(m)).ok());
  rig.wait_ended(4);
  for (int i = 0; i < 1000 && rig.loop->metrics().active_requests != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
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

TEST(EngineLoop, ExplicitPauseForkAndResume) {
  LoopRig rig(8);
  auto id = rig.loop->submit(rig.request(5, 40));
  ASSERT_TRUE(id.ok());
  auto count = [&](RequestId r) {
    std::lock_guard lock(rig.tally->mu);
    return rig.tally->tokens[r];
  };
  while (count(*id) < 5)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_TRUE(rig.loop->pause(*id, std::chrono::seconds(10)).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const int at_pause = count(*id);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(count(*id), at_pause) << "a paused request generates nothing";
  EXPECT_GT(rig.loop->metrics().kv.pinned_blocks, 0);
  auto child = rig.loop->fork(*id, rig.sub);
  ASSERT_TRUE(child.ok());
  EXPECT_FALSE(rig.loop->fork(999, rig.sub).ok());
  EXPECT_FALSE(rig.loop->pause(999, std::chrono::seconds(1)).ok());
  ASSERT_TRUE(rig.loop->resume({*id, {}, std::nullopt, std::nullopt}).ok());
  ASSERT_TRUE(rig.loop->resume({*child, {}, std::nullopt, std::nullopt}).ok());
  EXPECT_FALSE(rig.loop->resume({*id, {}, std::nullopt, std::nullopt}).ok()) << "not paused";
  rig.wait_ended(2);
  EXPECT_EQ(count(*id), at_pause + 40) << "max_tokens counts from the resumed turn";
  EXPECT_EQ(count(*child), 40);
}

}  // namespace
}  // namespace agentrt::actors
