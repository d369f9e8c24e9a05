// Tests of NodeKvEvents: runs of one kind and tier become one message, batches are capped,
// a full backlog drops its oldest events, announces it with a clear marker and asks for a
// snapshot, and a snapshot replaces the events before it. With a real KvManager and the
// coordinator's side (kv_reports.h, a Router): after an overflow, and for a node that joined
// again under a new id, the index again holds the node's blocks.
#include "cluster/node_kv_events.h"

#include <gtest/gtest.h>

#include <future>
#include <numeric>
#include <set>
#include <thread>

#include "actors/engine_loop.h"
#include "cluster/kv_reports.h"
#include "engine/cpu/cpu_backend.h"
#include "engine/kv/fake_block_memory.h"
#include "engine/kv/host_tier.h"

namespace agentrt::cluster {
namespace {

kv::KvBlockEvent ev(kv::KvEventType type, int tier, std::uint64_t n) {
  return {type, static_cast<std::uint8_t>(tier), kv::BlockKey{n, n + 1000}};
}

TEST(NodeKvEvents, RunsOfOneKindAndTierBecomeOneMessageInOrder) {
  NodeKvEvents q;
  EXPECT_TRUE(q.drain().empty());
  const std::vector<kv::KvBlockEvent> a = {ev(kv::KvEventType::stored, 0, 1),
                                           ev(kv::KvEventType::stored, 0, 2),
                                           ev(kv::KvEventType::evicted, 0, 1)};
  const std::vector<kv::KvBlockEvent> b = {ev(kv::KvEventType::stored, 1, 1),
                                           ev(kv::KvEventType::pinned, 0, 2)};
  q.listener()(a);
  q.push(b);
  auto m = q.drain().events;
  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(m[0].kind, 0);
  EXPECT_EQ(m[0].tier, 0);
  EXPECT_EQ(m[0].keys, (std::vector<std::uint64_t>{1, 1001, 2, 1002}));
  EXPECT_EQ(m[1].kind, 1);
  EXPECT_EQ(m[1].keys, (std::vector<std::uint64_t>{1, 1001}));
  EXPECT_EQ(m[2].kind, 0);
  EXPECT_EQ(m[2].tier, 1);
  EXPECT_EQ(m[3].kind, 2);
  EXPECT_TRUE(q.drain().empty()) << "drained events are gone";
}

TEST(NodeKvEvents, BatchesHoldAtMostMaxBatchKeys) {
  NodeKvEvents q({3, 100});
  std::vector<kv::KvBlockEvent> a;
  for (std::uint64_t i = 0; i < 7; ++i)
    a.push_back(ev(kv::KvEventType::stored, 0, i));
  q.push(a);
  auto m = q.drain().events;
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0].keys.size(), 6u);
  EXPECT_EQ(m[1].keys.size(), 6u);
  EXPECT_EQ(m[2].keys.size(), 2u);
  EXPECT_EQ(m[2].keys[0], 6u);
}

TEST(NodeKvEvents, AFullBacklogDropsTheOldestAndSendsAClearMarker) {
  NodeKvEvents q({100, 4});
  std::vector<kv::KvBlockEvent> a;
  for (std::uint64_t i = 0; i < 6; ++i)
    a.push_back(ev(kv::KvEventType::stored, 0, i));
  q.push(a);
  EXPECT_EQ(q.dropped(), 2);
  EXPECT_TRUE(q.take_snapshot_request());
  EXPECT_FALSE(q.take_snapshot_request()) << "asked once";
  auto out = q.drain();
  EXPECT_TRUE(out.snapshot.empty());
  auto m = out.events;
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].kind, kKvEventClear);
  EXPECT_TRUE(m[0].keys.empty());
  EXPECT_EQ(m[1].keys, (std::vector<std::uint64_t>{2, 1002, 3, 1003, 4, 1004, 5, 1005}));
  q.push(std::span(a).first(1));
  m = q.drain().events;
  ASSERT_EQ(m.size(), 1u) << "the marker is sent once";
  EXPECT_EQ(m[0].kind, 0);
}

kv::KvHeldBlock held(int tier, std::uint64_t n, std::int32_t pins = 0) {
  return {static_cast<std::uint8_t>(tier), kv::BlockKey{n, n + 1000}, pins};
}

TEST(NodeKvEvents, ASnapshotReplacesTheEventsBeforeItAndGoesFirstInParts) {
  NodeKvEvents q({2, 100});
  q.push(std::vector{ev(kv::KvEventType::stored, 0, 50)});  // before: in the snapshot or not
  q.push_snapshot({held(0, 1, 2), held(0, 2), held(0, 3), held(1, 4), held(2, 5)});
  q.push(std::vector{ev(kv::KvEventType::evicted, 0, 1)});  // after: applies on top
  auto out = q.drain();
  ASSERT_EQ(out.snapshot.size(), 4u);
  EXPECT_EQ(out.snapshot[0].part, 0);
  EXPECT_EQ(out.snapshot[0].tier, 0);
  EXPECT_EQ(out.snapshot[0].keys, (std::vector<std::uint64_t>{1, 1001, 2, 1002}));
  EXPECT_EQ(out.snapshot[0].pins, (std::vector<std::int32_t>{2, 0}));
  EXPECT_EQ(out.snapshot[1].part, 1);
  EXPECT_EQ(out.snapshot[1].keys, (std::vector<std::uint64_t>{3, 1003}));
  EXPECT_TRUE(out.snapshot[1].pins.empty()) << "no pins: none sent";
  EXPECT_EQ(out.snapshot[2].tier, 1);
  EXPECT_EQ(out.snapshot[3].tier, 2);
  EXPECT_EQ(out.snapshot[3].part, 3);
  ASSERT_EQ(out.events.size(), 1u) << "only the event after the snapshot";
  EXPECT_EQ(out.events[0].kind, 1);
  EXPECT_TRUE(q.drain().empty());
  q.push_snapshot({});  // an engine that holds nothing: part 0 still clears
  out = q.drain();
  ASSERT_EQ(out.snapshot.size(), 1u);
  EXPECT_TRUE(out.snapshot[0].keys.empty());
}

TEST(NodeKvEvents, AnOverflowAfterASnapshotDropsItAndAsksAgain) {
  NodeKvEvents q({100, 2});
  q.push_snapshot({held(0, 1)});
  EXPECT_FALSE(q.take_snapshot_request());
  std::vector<kv::KvBlockEvent> a;
  for (std::uint64_t i = 0; i < 3; ++i)
    a.push_back(ev(kv::KvEventType::stored, 0, i));
  q.push(a);
  EXPECT_TRUE(q.take_snapshot_request());
  auto out = q.drain();
  EXPECT_TRUE(out.snapshot.empty()) << "events after it were lost";
  ASSERT_EQ(out.events.size(), 2u);
  EXPECT_EQ(out.events[0].kind, kKvEventClear);
}

// The coordinator's side, as its actor applies each message a member sends.
void deliver(Router& router, NodeId node, const KvOutbox& out) {
  for (const auto& m : out.snapshot)
    ASSERT_TRUE(apply_kv_snapshot(router, node, m).ok());
  for (const auto& m : out.events)
    ASSERT_TRUE(apply_kv_event(router, node, m).ok());
}

constexpr int kBs = 4;

std::vector<std::int32_t> tokens(int n, int from) {
  std::vector<std::int32_t> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), from);
  return v;
}

std::vector<kv::BlockKey> keys_of(const std::vector<std::int32_t>& t) {
  std::vector<kv::BlockKey> out;
  kv::BlockKey parent = kv::root_key("fp");
  for (std::size_t i = 0; i + kBs <= t.size(); i += kBs) {
    parent = kv::chain_key(parent, std::span(t).subspan(i, kBs), "fp");
    out.push_back(parent);
  }
  return out;
}

// A node's engine KV (a real KvManager with a host tier) whose events go to `q`.
struct NodeKv {
  explicit NodeKv(NodeKvEvents& q) : mem(8, kBs), host(4096) {
    auto m = kv::KvManager::create({8, kBs, "fp", true, 0}, {&mem, &clock, {&host}, nullptr});
    EXPECT_TRUE(m.ok());
    kv = std::move(*m);
    kv->set_event_listener(q.listener());
  }
  void run(kv::SeqId seq, const std::vector<std::int32_t>& t) {
    auto hit = kv->open(seq, t);
    ASSERT_TRUE(hit.ok());
    ASSERT_TRUE(kv->reserve(seq, std::ssize(t)).ok());
    auto rest = std::span(t).subspan(static_cast<std::size_t>(*hit));
    mem.write_tokens(kv->block_table(seq), static_cast<std::size_t>(*hit), rest);
    ASSERT_TRUE(kv->commit(seq, rest).ok());
    kv->flush_events();  // the engine's step boundary
  }
  // What Engine::kv_snapshot does on the engine thread, and the node's sink.
  void snapshot(NodeKvEvents& q) {
    kv->flush_events();
    q.push_snapshot(kv->held_blocks(q.options().max_snapshot));
  }
  kv::testing::FakeBlockMemory mem;
  kv::FakeClock clock;
  kv::HostTier host;
  std::unique_ptr<kv::KvManager> kv;
};

Router two_nodes() {
  auto p = make_policy("prefix_aware");
  EXPECT_TRUE(p.ok());
  Router r(std::move(p).value());
  EXPECT_TRUE(r.join(0, NodeInfo{"a"}).ok());
  EXPECT_TRUE(r.join(1, NodeInfo{"b"}).ok());
  return r;
}

TEST(NodeKvEventsResync, AfterAnOverflowTheSnapshotRebuildsTheIndex) {
  NodeKvEvents q({3, 4});
  NodeKv node(q);
  Router router = two_nodes();
  const auto prompt = tokens(24, 0);
  const auto keys = keys_of(prompt);
  node.run(1, prompt);  // 6 blocks stored: 2 events more than the backlog holds
  EXPECT_EQ(q.dropped(), 2);
  deliver(router, 1, q.drain());
  EXPECT_FALSE(router.index().holds(1, keys[0], KvTierKind::device)) << "its event was dropped";
  EXPECT_TRUE(router.index().holds(1, keys[5], KvTierKind::device));
  ASSERT_TRUE(q.take_snapshot_request());
  node.snapshot(q);
  const auto table = node.kv->block_table(1);  // after the snapshot: 2 blocks pinned
  ASSERT_TRUE(node.kv->pin_blocks(7, table.first(2), std::chrono::seconds(10)).ok());
  node.kv->flush_events();
  deliver(router, 1, q.drain());
  for (const auto& k : keys)
    EXPECT_TRUE(router.index().holds(1, k, KvTierKind::device));
  auto d = router.decide(RouteRequest{keys, "", std::nullopt, 24});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->node, 1);
  EXPECT_EQ(d->match.blocks, 6);
  EXPECT_EQ(d->match.pinned_blocks, 2) << "the pins after the snapshot apply on top";
}

TEST(NodeKvEventsResync, ANodeThatJoinsAgainIsRebuiltUnderItsNewId) {
  NodeKvEvents q;
  NodeKv node(q);
  Router router = two_nodes();
  const auto first = tokens(16, 0), second = tokens(32, 100);
  node.run(1, first);
  node.kv->release(1);
  node.run(2, second);  // 8 blocks: the first prompt's 4 go to the host tier
  deliver(router, 1, q.drain());
  // The node loses the coordinator, which drops it, and joins again as node 2.
  ASSERT_TRUE(router.leave(1).ok());
  ASSERT_TRUE(router.join(2, NodeInfo{"b"}).ok());
  EXPECT_FALSE(router.index().holds(2, keys_of(first)[0], KvTierKind::host));
  node.snapshot(q);  // asked for at the join
  deliver(router, 2, q.drain());
  for (const auto& k : keys_of(first))
    EXPECT_TRUE(router.index().holds(2, k, KvTierKind::host));
  for (const auto& k : keys_of(second))
    EXPECT_TRUE(router.index().holds(2, k, KvTierKind::device));
  auto d = router.decide(RouteRequest{keys_of(first), "", std::nullopt, 16});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->node, 2);
  EXPECT_EQ(d->match.host_blocks, 4);
}

// What a sink saw when the engine loop handed it a snapshot.
struct SnapshotSeen {
  bool same_thread = false;  // as the KV events'
  bool matches = false;      // the device keys the events stored and did not evict, no more
  std::size_t device = 0;
};

TEST(NodeKvEventsResync, TheEngineLoopTakesTheSnapshotBetweenStepsInOrderWithTheEvents) {
  auto model = model::Model::load(std::string(AGENTRT_SOURCE_DIR) + "/models/tiny-calc");
  ASSERT_TRUE(model.ok());
  auto backend = cpu::CpuBackend::create(*model, {128, 16, 2}).value();
  NodeKvEvents q;
  std::mutex mu;  // the replay below, written on the engine thread
  std::set<std::pair<std::uint64_t, std::uint64_t>> device;
  std::thread::id events_thread;
  EngineOptions opts;
  opts.kv_events = [&](std::span<const kv::KvBlockEvent> events) {
    {
      std::lock_guard lock(mu);
      events_thread = std::this_thread::get_id();
      for (const auto& e : events) {
        if (e.tier != 0) continue;
        if (e.type == kv::KvEventType::stored) device.insert({e.key.hi, e.key.lo});
        if (e.type == kv::KvEventType::evicted) device.erase({e.key.hi, e.key.lo});
      }
    }
    q.push(events);
  };
  auto engine = Engine::create(
      {backend.get(), &(*model)->config(), (*model)->fingerprint(), nullptr, nullptr}, opts);
  ASSERT_TRUE(engine.ok());
  actors::EngineLoop loop(std::move(*engine), 8, backend->kv_geometry(), nullptr);
  auto snapshot = [&] {
    auto seen = std::make_shared<std::promise<SnapshotSeen>>();
    loop.kv_snapshot(1000, [&, seen](std::vector<kv::KvHeldBlock> blocks) {
      std::set<std::pair<std::uint64_t, std::uint64_t>> held;
      for (const auto& b : blocks)
        if (b.tier == 0) held.insert({b.key.hi, b.key.lo});
      std::lock_guard lock(mu);
      const SnapshotSeen s{events_thread == std::this_thread::get_id(), held == device,
                           held.size()};
      q.push_snapshot(std::move(blocks));  // before the test thread may drain
      seen->set_value(s);
    });
    return seen->get_future();
  };
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto tokens = std::make_shared<std::atomic<int>>(0);
  auto ended = std::make_shared<std::atomic<int>>(0);
  // The counters go in as spawn arguments, not captures: CAF 0.17 binds a null
  // shared_ptr<tuple<>> to a reference when a function actor has no arguments (clang's UBSan
  // reports it).
  using Counter = std::shared_ptr<std::atomic<int>>;
  auto sub = sys.spawn(
      [](caf::event_based_actor*, Counter token_count, Counter end_count) -> caf::behavior {
        return {[token_count, end_count](const actors::TokenBatch& b) {
          *token_count += static_cast<int>(b.tokens.size());
          if (b.finish || b.cancelled || b.error) ++*end_count;
        }};
      },
      tokens, ended);
  for (int r = 0; r < 2; ++r) {
    actors::GenerateMsg m;
    for (int t = 0; t < 70; ++t)
      m.request.prompt.push_back(10 + (r * 301 + t * 7) % 700);
    m.request.params.max_tokens = 40;
    m.request.params.ignore_eos = true;
    m.subscribers = {sub};
    ASSERT_TRUE(loop.submit(std::move(m)).ok());
  }
  for (int i = 0; i < 120000 && tokens->load() == 0; ++i)  // a hang guard only
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  auto running = snapshot().get();  // while both decode: between two of their steps
  EXPECT_TRUE(running.same_thread);
  EXPECT_TRUE(running.matches);
  EXPECT_GE(running.device, 4u) << "a prefilled prompt's 4 full blocks at least";
  for (int i = 0; i < 120000 && ended->load() < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  auto done = snapshot().get();
  EXPECT_TRUE(done.matches);
  EXPECT_GE(done.device, running.device);
  auto out = q.drain();
  ASSERT_FALSE(out.snapshot.empty());
  std::size_t keys = 0;
  for (const auto& m : out.snapshot)
    keys += m.tier == 0 ? m.keys.size() / 2 : 0;
  EXPECT_EQ(keys, done.device) << "the last snapshot replaced the first and the events";
  caf::anon_send_exit(sub, caf::exit_reason::user_shutdown);
}

}  // namespace
}  // namespace agentrt::cluster
